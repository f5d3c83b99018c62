"""A flow whose steps write in every way a program can: print, a subprocess, the raw file
descriptors, an unfinished last line."""

import os
import subprocess
import sys

from flowtrail import FlowSpec, step


class NoisyFlow(FlowSpec):
    @step
    def start(self):
        print("from print")
        subprocess.run([sys.executable, "-c", "print('from a subprocess')"], check=True)
        os.write(1, b"raw on fd 1\n")
        subprocess.run(
            [sys.executable, "-c", "import sys; sys.stderr.write('subprocess stderr\\n')"],
            check=True,
        )
        os.write(2, b"raw on fd 2\n")
        sys.stdout.write("no newline at the end")
        self.next(self.end)

    @step
    def end(self):
        print("end")


if __name__ == "__main__":
    NoisyFlow()
