"""Steps that fail in every way the runtime must record: killed, timed out, raising, caught."""

import os
import signal
import sys
import time

from flowtrail import FlowSpec, Parameter, catch, current, retry, step, timeout


class FaultyFlow(FlowSpec):
    mode = Parameter("mode", default="ok", help="which fault to show")

    @step
    def start(self):
        self.next(self.work)

    @retry(times=1, minutes_between_retries=0)
    @step
    def work(self):
        print("attempt", current.retry_count)
        self.tried = current.retry_count  # set before any fault: a failed attempt keeps it
        # Recorded when it is set: an attempt that dies afterwards keeps it.
        current.set_metadata("seen", current.retry_count)
        if self.mode == "segv" and current.retry_count == 0:
            import ctypes

            ctypes.string_at(0)
        if self.mode == "outside" and current.retry_count == 0:
            with open(os.environ["FAULTY_PID"] + ".tmp", "w") as handle:
                handle.write(str(os.getpid()))
            os.rename(os.environ["FAULTY_PID"] + ".tmp", os.environ["FAULTY_PID"])
            time.sleep(120)  # killed from outside with -9
        if self.mode == "forked" and current.retry_count == 0:
            child = os.fork()
            if child == 0:  # a child that outlives the worker, holding its pipes
                time.sleep(300)
                os._exit(0)
            with open(os.environ["FAULTY_CHILD"], "w") as handle:
                handle.write(str(child))
            os._exit(3)
        if self.mode == "kill" and current.retry_count == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.mode == "exit" and current.retry_count == 0:
            os._exit(3)
        if self.mode == "raise":
            raise ValueError(f"bad value on attempt {current.retry_count}")
        if self.mode == "lambda":
            self.fn = lambda x: x
        self.done = True
        self.next(self.slow)

    @timeout(seconds=1)
    @step
    def slow(self):
        if self.mode == "timeout":
            sys.stdout.write("started, no newline yet")
            sys.stdout.flush()
            time.sleep(60)
        self.next(self.risky)

    @catch(var="problem")
    @step
    def risky(self):
        if self.mode == "catch":
            raise KeyError("missing thing")
        self.next(self.end)

    @step
    def end(self):
        print("caught", repr(getattr(self, "problem", None)))


if __name__ == "__main__":
    FaultyFlow()
