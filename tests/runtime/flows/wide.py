from flowtrail import FlowSpec, Parameter, step


class WideFlow(FlowSpec):
    width = Parameter("width", default=1000)

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.each, foreach="items")

    @step
    def each(self):
        self.square = self.input * self.input
        print("item", self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.square for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print("total", self.total)


if __name__ == "__main__":
    WideFlow()
