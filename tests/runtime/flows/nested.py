from flowtrail import FlowSpec, step


class NestedFlow(FlowSpec):
    @step
    def start(self):
        self.outer = ["x", "y"]
        self.next(self.split_inner, foreach="outer")

    @step
    def split_inner(self):
        self.letter = self.input
        self.inner = [1, 2, 3]
        self.next(self.work, foreach="inner")

    @step
    def work(self):
        self.label = f"{self.letter}{self.input}"
        self.next(self.join_inner)

    @step
    def join_inner(self, inputs):
        self.labels = [i.label for i in inputs]
        self.next(self.join_outer)

    @step
    def join_outer(self, inputs):
        self.all_labels = [label for i in inputs for label in i.labels]
        self.next(self.end)

    @step
    def end(self):
        print(",".join(self.all_labels))


if __name__ == "__main__":
    NestedFlow()
