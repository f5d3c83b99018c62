"""A flow that fails in `second` while the file named by RESUME_FAIL exists."""

import os

from flowtrail import FlowSpec, current, step


class ResumableFlow(FlowSpec):
    @step
    def start(self):
        self.values = [10, 20]
        print("start ran")
        self.next(self.first, foreach="values")

    @step
    def first(self):
        self.doubled = self.input * 2
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.total = sum(i.doubled for i in inputs)
        self.next(self.second)

    @step
    def second(self):
        marker = os.environ.get("RESUME_FAIL", "")
        if marker and os.path.exists(marker):
            raise RuntimeError("second is not ready yet")
        self.result = self.total + 1
        self.origin = current.origin_run_id
        self.next(self.end)

    @step
    def end(self):
        print("result", self.result)


if __name__ == "__main__":
    ResumableFlow()
