"""A flow whose first step leaves processes behind: one writes after the step has ended,
while the next step runs on the same worker; one holds the step's output open past the
run's end (until ``lingering.exit`` appears, or a minute has passed)."""

import os
import subprocess
import sys
import time

from flowtrail import FlowSpec, step

LATE = """
import os, time
while not os.path.exists("lingering.go"):
    time.sleep(0.01)
print("late from start", flush=True)
open("lingering.done", "w").close()
"""

HOLD = """
import os, time
with open("lingering.pid", "w") as f:
    f.write(str(os.getpid()))
deadline = time.monotonic() + 60
while not os.path.exists("lingering.exit") and time.monotonic() < deadline:
    time.sleep(0.05)
"""


class LingeringFlow(FlowSpec):
    @step
    def start(self):
        subprocess.Popen([sys.executable, "-c", LATE])  # not waited for
        subprocess.Popen([sys.executable, "-c", HOLD])
        print("start done")
        self.next(self.middle)

    @step
    def middle(self):
        print("middle begins")
        open("lingering.go", "w").close()  # the process left behind writes now
        deadline = time.monotonic() + 120
        while not os.path.exists("lingering.done"):
            if time.monotonic() > deadline:
                raise RuntimeError("the process left behind never wrote")
            time.sleep(0.01)
        print("middle ends")
        self.next(self.end)

    @step
    def end(self):
        print("end")


if __name__ == "__main__":
    LingeringFlow()
