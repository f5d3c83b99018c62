"""A flow of many short sleepy tasks: long enough to restart a service in the middle."""

import time

from flowtrail import FlowSpec, Parameter, current, step


class SteadyFlow(FlowSpec):
    count = Parameter("count", default=8)
    pause = Parameter("pause", default=0.5)

    @step
    def start(self):
        self.items = list(range(self.count))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        print(f"item {self.input} begins", flush=True)
        time.sleep(self.pause)
        self.square = self.input * self.input
        current.set_metadata("item", self.input)
        print(f"item {self.input} ends", flush=True)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.square for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print(f"total {self.total}")


if __name__ == "__main__":
    SteadyFlow()
