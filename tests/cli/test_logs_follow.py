"""``flowtrail logs --follow`` on a task that is still running: it keeps printing until the
task finishes, then exits by itself."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen

from flowtrail.client import Task
from flowtrail.errors import NotFound

from .conftest import SCRIPT, History


def running_task(history: History, deadline: float) -> Task:
    """The start task of run 1, once it has been recorded as running."""
    while time.monotonic() < deadline:
        try:
            task = history.flow()["1"]["start"].task
        except NotFound:
            task = None
        if task is not None and task.status.value == "running":
            return task
        time.sleep(0.05)
    raise AssertionError("the start task was not recorded as running in time")


@contextmanager
def following(history: History, mode: str) -> Iterator[tuple[Path, Callable[..., Popen[str]]]]:
    """A ReportFlow run in ``mode`` waiting for its marker, and a way to start ``logs
    --follow`` on its start task; whatever still runs at the end is killed."""
    marker = history.path / "go-on"
    flow = history.start("report", "run", "--quiet", "--mode", mode, REPORT_MARKER=str(marker))
    started: list[Popen[str]] = [flow]

    def follow(task: Task, interval: str) -> Popen[str]:
        process = subprocess.Popen(
            [str(SCRIPT), "logs", task.pathspec, "--follow", "--interval", interval],
            cwd=history.path,
            env=history.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    try:
        yield marker, follow
        assert flow.wait(timeout=60) == 0
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.communicate()
        history.close()


def test_follow_prints_until_the_task_finishes(tmp_path: Path) -> None:
    history = History(tmp_path)
    with following(history, "wait") as (marker, follow):
        task = running_task(history, time.monotonic() + 60)
        process = follow(task, "0.1")
        time.sleep(1.0)
        assert process.poll() is None, "--follow returned while the task was still running"
        marker.write_text("go")
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert out == "hello from start\nmarker seen\n"
        assert err == ""


def test_follow_prints_the_end_of_an_attempt_before_the_retry(tmp_path: Path) -> None:
    # Between two looks (2 s apart) the first attempt ends and its retry runs: the lines the
    # first wrote since the last look come before the "--- attempt 1 ---" line.
    history = History(tmp_path)
    with following(history, "retry") as (marker, follow):
        task = running_task(history, time.monotonic() + 60)
        deadline = time.monotonic() + 60
        while "attempt 0 begins" not in task.stdout and time.monotonic() < deadline:
            time.sleep(0.05)
        process = follow(task, "2")
        # The follower's first look has printed attempt 0's first line before attempt 0 may
        # end: a fixed pause lost the race on a busy machine, and the first look saw attempt 1.
        assert process.stdout is not None
        first = process.stdout.readline()
        marker.write_text("go")
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert [first.rstrip("\n"), *out.splitlines()] == [
            "attempt 0 begins",
            "attempt 0 ends",
            "attempt 1 begins",
            "attempt 1 ends",
            "hello from start",
        ]
        assert err == "--- attempt 1 ---\n"
