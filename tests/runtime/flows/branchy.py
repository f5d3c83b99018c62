"""A flow with a foreach, a static branch and two joins."""

from flowtrail import FlowSpec, Parameter, current, step


class BranchyFlow(FlowSpec):
    """Fan out over items, branch, and join everything back."""

    alpha = Parameter("alpha", default=0.1, help="learning rate")
    rounds = Parameter("rounds", default=2, help="how many rounds")

    @step
    def start(self):
        self.items = [1, 2, 3]
        print("starting", current.pathspec)
        self.set_metadata("phase", "start")
        self.next(self.train, foreach="items")

    @step
    def train(self):
        self.score = self.input * self.alpha
        self.position = self.index
        current.set_metadata("score", self.score)
        print("trained", self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.best = max(i.score for i in inputs)
        self.positions = [i.position for i in inputs]
        self.merge_artifacts(inputs, exclude=["score", "position"])
        self.next(self.branch_a, self.branch_b)

    @step
    def branch_a(self):
        self.a = 1
        self.next(self.join2)

    @step
    def branch_b(self):
        self.b = 2
        self.next(self.join2)

    @step
    def join2(self, inputs):
        self.total = inputs.branch_a.a + inputs.branch_b.b
        self.merge_artifacts(inputs)
        self.next(self.end)

    @step
    def end(self):
        self.context = {
            "flow_name": current.flow_name,
            "run_id": current.run_id,
            "step_name": current.step_name,
            "task_id": current.task_id,
            "pathspec": current.pathspec,
            "retry_count": current.retry_count,
            "origin_run_id": current.origin_run_id,
            "username": current.username,
            "tags": sorted(current.tags),
            "is_running_flow": current.is_running_flow,
        }
        print("best", self.best, "total", self.total)


if __name__ == "__main__":
    BranchyFlow()
