"""A flow whose middle step waits for a long time (to be interrupted or killed)."""

import os
import sys
import time

from flowtrail import FlowSpec, Parameter, step


class SleepyFlow(FlowSpec):
    seconds = Parameter("seconds", default=60.0)

    @step
    def start(self):
        self.next(self.wait)

    @step
    def wait(self):
        print("waiting", flush=True)
        marker = os.environ.get("SLEEPY_MARKER")
        if marker:
            with open(marker, "w") as handle:
                handle.write("ready")
        time.sleep(self.seconds)
        self.next(self.end)

    @step
    def end(self):
        print("woke", file=sys.stderr)


if __name__ == "__main__":
    SleepyFlow()
