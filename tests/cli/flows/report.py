"""A small flow for the command-line tests: bytes, text and other artifacts, output on both
streams, a parameter to search by, user metadata, and a failure or a wait on request."""

import os
import sys
import time

from flowtrail import FlowSpec, Parameter, current, step


class ReportFlow(FlowSpec):
    """Write a few artifacts and lines, then end (or fail, or wait)."""

    alpha = Parameter("alpha", default=0.1, help="a number to search by")
    mode = Parameter("mode", default="ok", help="ok, fail, or wait (for REPORT_MARKER)")

    @step
    def start(self):
        self.raw = b"\x00\x01binary\xff"
        self.text = "line one\nline two"
        self.table = {"a": [1, 2], "b": None}
        self.score = self.alpha * 2
        current.set_metadata("phase", "start")
        print("hello from start", flush=True)
        print("warning from start", file=sys.stderr, flush=True)
        if self.mode == "wait":
            marker = os.environ["REPORT_MARKER"]
            while not os.path.exists(marker):
                time.sleep(0.05)
            print("marker seen", flush=True)
        self.next(self.end)

    @step
    def end(self):
        if self.mode == "fail":
            raise RuntimeError("asked to fail")
        print("done", self.score)


if __name__ == "__main__":
    ReportFlow()
