"""A foreach whose first task blocks while the others wait for the one worker."""

import os
import time

from flowtrail import FlowSpec, step


class QueuedFlow(FlowSpec):
    @step
    def start(self):
        self.items = [0, 1, 2]
        self.next(self.each, foreach="items")

    @step
    def each(self):
        marker = os.environ["QUEUED_MARKER"]
        with open(marker + ".tmp", "w") as handle:
            handle.write("ready")
        os.rename(marker + ".tmp", marker)
        time.sleep(120)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    QueuedFlow()
