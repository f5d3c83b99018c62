"""What a run shows while it goes: a live table on a terminal, timestamped lines otherwise."""

from __future__ import annotations

import datetime as _dt
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["LiveProgress", "PlainProgress", "Progress", "SilentProgress", "choose_progress"]


@dataclass(slots=True)
class _StepCounts:
    done: int = 0
    running: int = 0
    failed: int = 0
    started: float | None = None
    ended: float | None = None


class Progress:
    """Told about the run as it goes; this base class shows nothing."""

    def __init__(self) -> None:
        self.steps: dict[str, _StepCounts] = {}
        self.started = time.monotonic()

    def run_started(self, pathspec: str, steps: list[str]) -> None:
        """The run was recorded and its first task is about to run."""
        self.steps = {name: _StepCounts() for name in steps}
        self.started = time.monotonic()

    def task_started(self, step: str, pathspec: str, attempt: int) -> None:
        """An attempt began."""
        counts = self.steps[step]
        counts.running += 1
        if counts.started is None:
            counts.started = time.monotonic()

    def task_ended(self, step: str, pathspec: str, attempt: int, ok: bool, note: str) -> None:
        """An attempt ended (``note`` says how when it failed)."""
        counts = self.steps[step]
        counts.running = max(counts.running - 1, 0)
        if ok:
            counts.done += 1
        else:
            counts.failed += 1
        counts.ended = time.monotonic()

    def task_cloned(self, step: str, pathspec: str, origin: str) -> None:
        """A task was cloned from the run being resumed."""
        counts = self.steps[step]
        counts.done += 1

    def tick(self) -> None:
        """Refresh what is shown (called often; cheap when nothing changed)."""

    def run_ended(self, pathspec: str, status: str, failure: str | None) -> None:
        """The run ended with ``status``; ``failure`` describes the task that failed it."""


class SilentProgress(Progress):
    """Shows nothing (for notebooks and library use)."""


class PlainProgress(Progress):
    """One timestamped line per event, for logs and pipes."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out

    def _line(self, text: str) -> None:
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        print(f"{stamp} {text}", file=self.out, flush=True)

    def run_started(self, pathspec: str, steps: list[str]) -> None:
        super().run_started(pathspec, steps)
        self._line(f"run {pathspec} started")

    def task_started(self, step: str, pathspec: str, attempt: int) -> None:
        super().task_started(step, pathspec, attempt)
        retry = f" (retry {attempt})" if attempt else ""
        self._line(f"task {pathspec} started{retry}")

    def task_ended(self, step: str, pathspec: str, attempt: int, ok: bool, note: str) -> None:
        super().task_ended(step, pathspec, attempt, ok, note)
        self._line(f"task {pathspec} {'succeeded' if ok else 'failed'}{note}")

    def task_cloned(self, step: str, pathspec: str, origin: str) -> None:
        super().task_cloned(step, pathspec, origin)
        self._line(f"task {pathspec} cloned from {origin}")

    def run_ended(self, pathspec: str, status: str, failure: str | None) -> None:
        elapsed = time.monotonic() - self.started
        self._line(f"run {pathspec} {status} in {elapsed:.2f}s")
        if failure:
            print(failure, file=self.out, flush=True)


class LiveProgress(Progress):
    """A live table per step (done / running / failed, elapsed) on a terminal."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self.pathspec = ""
        self.live: Any = None
        self._shown = 0.0

    def _table(self) -> Table:
        from rich.table import Table

        table = Table(title=f"run {self.pathspec}", title_justify="left", expand=False)
        table.add_column("step")
        table.add_column("done", justify="right", style="green")
        table.add_column("running", justify="right", style="cyan")
        table.add_column("failed", justify="right", style="red")
        table.add_column("elapsed", justify="right")
        now = time.monotonic()
        for name, counts in self.steps.items():
            if counts.started is None:
                elapsed = ""
            else:
                end = counts.ended if counts.running == 0 and counts.ended else now
                elapsed = f"{end - counts.started:.1f}s"
            table.add_row(name, str(counts.done), str(counts.running), str(counts.failed), elapsed)
        table.caption = f"{now - self.started:.1f}s"
        return table

    def run_started(self, pathspec: str, steps: list[str]) -> None:
        super().run_started(pathspec, steps)
        self.pathspec = pathspec
        self.console.print(f"[bold]run {pathspec}[/] started")
        from rich.live import Live

        # Refreshed by the scheduler's loop: no thread of its own, so workers can be forked.
        self.live = Live(self._table(), console=self.console, auto_refresh=False)
        self.live.start()

    def tick(self) -> None:
        now = time.monotonic()
        if self.live is not None and now - self._shown >= 0.1:
            self._shown = now
            self.live.update(self._table(), refresh=True)

    def run_ended(self, pathspec: str, status: str, failure: str | None) -> None:
        if self.live is not None:
            self.live.update(self._table(), refresh=True)
            self.live.stop()
        style = "green" if status == "succeeded" else "red"
        elapsed = time.monotonic() - self.started
        self.console.print(f"[bold]run {pathspec}[/] [{style}]{status}[/] in {elapsed:.2f}s")
        if failure:
            self.console.print(failure, markup=False, highlight=False)


def choose_progress(show: bool | None, out: TextIO | None = None) -> Progress:
    """A live view on a terminal, plain lines otherwise; nothing when ``show`` is False."""
    stream = out or sys.stdout
    if show is False:
        return SilentProgress()
    if stream.isatty():
        from rich.console import Console

        return LiveProgress(Console(file=stream))
    return PlainProgress(stream)
