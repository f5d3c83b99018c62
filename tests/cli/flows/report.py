"""A small flow for the command-line tests: bytes, text and other artifacts, output on both
streams, a parameter to search by, user metadata, and a failure or a wait on request."""

import os
import sys
import time

from flowtrail import FlowSpec, Parameter, current, retry, step


class ReportFlow(FlowSpec):
    """Write a few artifacts and lines, then end (or fail, or wait)."""

    alpha = Parameter("alpha", default=0.1, help="a number to search by")
    mode = Parameter(
        "mode",
        default="ok",
        help="ok, fail, wait (for REPORT_MARKER), or retry (the same, then fail once)",
    )

    @retry(times=1, minutes_between_retries=0)
    @step
    def start(self):
        if self.mode == "retry":
            attempt = current.retry_count
            print(f"attempt {attempt} begins", flush=True)
            while not os.path.exists(os.environ["REPORT_MARKER"]):
                time.sleep(0.05)
            print(f"attempt {attempt} ends", flush=True)
            if attempt == 0:
                raise RuntimeError("the first attempt fails")
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
