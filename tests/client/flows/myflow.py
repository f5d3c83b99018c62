"""MyFlow: the flow the client tutorial (seed 003) reads.

Its steps and artifacts are the ones the tutorial's snippets name: a foreach ``train`` step
whose tasks store ``model``, ``accuracy``, ``loss``, ``params`` and ``result``; a ``join``
that keeps the best model; an ``end`` step whose data holds ``accuracy`` and ``model``.
"""

from flowtrail import FlowSpec, Parameter, current, step


class MyFlow(FlowSpec):
    """Train one model per point of a small grid and keep the best."""

    width = Parameter("width", default=3, help="how many train tasks (grid points)")
    fail = Parameter("fail", default=False, help="fail in the end step")

    @step
    def start(self):
        self.grid = [
            {"alpha": round(0.05 * (i + 1), 4), "depth": 2 + i % 3} for i in range(self.width)
        ]
        self.next(self.train, foreach="grid")

    @step
    def train(self):
        self.params = self.input
        self.loss = round(1.0 / (2 + self.index), 6)
        self.accuracy = round(0.9 - self.loss + self.params["depth"] / 100, 6)
        self.model = {"weights": [self.params["alpha"]] * self.params["depth"], "bias": self.loss}
        self.result = {"task": current.task_id, "accuracy": self.accuracy}
        print("trained", self.params, "accuracy", self.accuracy)
        self.next(self.join)

    @step
    def join(self, inputs):
        best = max(inputs, key=lambda task: task.accuracy)
        self.accuracy = best.accuracy
        self.model = best.model
        self.next(self.end)

    @step
    def end(self):
        if self.fail:
            raise RuntimeError("asked to fail")
        print("best accuracy", self.accuracy)


if __name__ == "__main__":
    MyFlow()
