"""Execution tags at work: default retries, a default timeout, and the worker pool's size."""

import os
import time

from flowtrail import FlowSpec, Parameter, current, retry, step


class TunedFlow(FlowSpec, tags=["flowtrail/max_retries:2", "tuned"]):
    mode = Parameter("mode", default="flaky", help="flaky, sleep or fan")

    @step
    def start(self):
        self.items = list(range(3)) if self.mode == "fan" else [0]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        if self.mode == "flaky" and current.retry_count < 2:
            raise RuntimeError(f"flaky on attempt {current.retry_count}")
        if self.mode == "sleep":
            time.sleep(60)
        if self.mode == "fan":
            time.sleep(0.5)
        self.pid = os.getpid()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.pids = [i.pid for i in inputs]
        self.next(self.strict)

    @retry(times=0)
    @step
    def strict(self):
        # @retry on the step wins over flowtrail/max_retries: one attempt only.
        if self.mode == "flaky" and os.environ.get("TUNED_FAIL_STRICT"):
            raise RuntimeError("strict fails once and is not retried")
        self.next(self.end)

    @step
    def end(self):
        print("pids", self.pids)


if __name__ == "__main__":
    TunedFlow()
