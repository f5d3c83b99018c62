"""Faults: workers killed or exiting, timeouts, exceptions, @catch, signals to the run
command, and a scheduler killed with -9."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from flowtrail.model import LogStream, Pathspec, Status

from .conftest import Project


def _task(project: Project, run: Pathspec, step: str) -> Pathspec:
    return next(t.pathspec for t in project.tasks(run) if t.pathspec.step == step)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("kill", "SIGKILL"),  # the step kills its own worker
        ("outside", "SIGKILL"),  # kill -9 of the worker's pid from outside
        ("exit", "exited with code 3"),
        ("forked", "exited with code 3"),  # its pipes kept open by a child it forked
        ("segv", "SIGSEGV"),
    ],
)
def test_a_dead_worker_is_a_failed_attempt_and_retry_succeeds(
    project: Project, mode: str, reason: str
) -> None:
    if mode == "outside":
        pid_file = project.path / "worker.pid"
        proc = project.start("faulty", "run", "--mode", mode, FAULTY_PID=str(pid_file))
        _wait_for(pid_file, proc)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out + err
    elif mode == "forked":
        child_file = project.path / "child.pid"
        done = project.run("faulty", "run", "--mode", mode, FAULTY_CHILD=str(child_file))
        child = int(child_file.read_text())
        try:
            assert done.returncode == 0, done.stdout + done.stderr
            os.kill(child, 0)  # still alive: the worker's death was seen without waiting for it
        finally:
            os.kill(child, signal.SIGKILL)
    else:
        done = project.run("faulty", "run", "--mode", mode)
        assert done.returncode == 0, done.stdout + done.stderr
    run = project.latest("FaultyFlow")
    assert run.status is Status.SUCCEEDED
    work = _task(project, run.pathspec, "work")
    attempts = list(project.store.find_attempts(work))
    assert [(a.number, a.status) for a in attempts] == [
        (0, Status.FAILED),
        (1, Status.SUCCEEDED),
    ]
    failed = attempts[0].exception
    assert failed is not None
    assert failed.type == "flowtrail.errors.WorkerDied"
    assert reason in failed.message
    # What the dead attempt printed before it died is kept, and so is the retry's output.
    assert project.log(work, attempt=0) == ["attempt 0"]
    assert project.log(work, attempt=1) == ["attempt 1"]
    retry = project.store.find_metadata(work, attempt=1, field_name="retry")
    assert [e.value.value for e in retry] == [True]
    # User metadata is recorded when it is set, so the dead attempt's entry is kept.
    seen = project.store.find_metadata(work, field_name="seen")
    assert [(e.attempt, e.value.value, e.type) for e in seen] == [(0, 0, "user"), (1, 1, "user")]
    for attempt in (0, 1):
        assert project.store.find_metadata(work, attempt=attempt, field_name="finished_at").items
    assert project.artifacts(work)["done"] is True


def test_an_exception_is_recorded_on_every_attempt(project: Project) -> None:
    done = project.run("faulty", "run", "--mode", "raise")
    assert done.returncode == 1
    run = project.latest("FaultyFlow")
    assert run.status is Status.FAILED
    assert run.finished_at is not None
    work = _task(project, run.pathspec, "work")
    attempts = list(project.store.find_attempts(work))
    assert [a.status for a in attempts] == [Status.FAILED, Status.FAILED]
    for number, attempt in enumerate(attempts):
        assert attempt.exception is not None
        assert attempt.exception.type == "ValueError"
        assert attempt.exception.message == f"bad value on attempt {number}"
        assert 'raise ValueError(f"bad value' in attempt.exception.traceback
        # Each attempt's log counts its lines from 0.
        lines = project.store.read_log_lines(work, attempt=number, stream=LogStream.STDOUT)
        assert [(line.seq, line.text) for line in lines] == [(0, f"attempt {number}")]
        # Its stderr ends with the traceback, as an uncaught exception ends a script's.
        err = [
            line.text
            for line in project.store.read_log_lines(work, attempt=number, stream=LogStream.STDERR)
        ]
        assert err[0] == "Traceback (most recent call last):"
        assert err[-1] == f"ValueError: bad value on attempt {number}"
        assert "\n".join(err) + "\n" == attempt.exception.traceback
        # What it had when it failed is kept, for the post-mortem: inherited and set.
        assert project.artifacts(work, attempt=number) == {"mode": "raise", "tried": number}
    assert project.store.get_task(work).status is Status.FAILED
    # The failing task and its exception are printed.
    assert f"task {work} failed: ValueError: bad value on attempt 1" in done.stdout


def test_timeout_stops_the_attempt(project: Project) -> None:
    done = project.run("faulty", "run", "--mode", "timeout")
    assert done.returncode == 1
    run = project.latest("FaultyFlow")
    slow = _task(project, run.pathspec, "slow")
    attempt = project.store.get_attempt(slow)
    assert attempt.status is Status.FAILED
    assert attempt.exception is not None
    assert attempt.exception.type == "flowtrail.errors.StepTimeout"
    assert "timed out after 1 seconds" in attempt.exception.message
    assert run.status is Status.FAILED
    # What it wrote before it was stopped is its log, an unfinished last line included.
    assert project.log(slow) == ["started, no newline yet"]


def test_catch_stores_the_exception_and_the_flow_goes_on(project: Project) -> None:
    done = project.run("faulty", "run", "--mode", "catch")
    assert done.returncode == 0, done.stdout + done.stderr
    run = project.latest("FaultyFlow")
    assert run.status is Status.SUCCEEDED
    risky = _task(project, run.pathspec, "risky")
    attempts = list(project.store.find_attempts(risky))
    assert [a.status for a in attempts] == [Status.FAILED, Status.SUCCEEDED]
    # The attempt that stores the exception is the scheduler's own, recorded like any other.
    assert attempts[1].pid is not None
    assert attempts[1].host is not None
    for name in ("pid", "started_at", "finished_at", "caught"):
        assert project.store.find_metadata(risky, attempt=1, field_name=name).items, name
    assert attempts[0].exception is not None
    assert attempts[0].exception.type == "KeyError"
    problem = project.artifacts(risky)["problem"]
    assert isinstance(problem, KeyError)
    assert problem.args == ("missing thing",)
    end = _task(project, run.pathspec, "end")
    assert project.log(end) == ["caught KeyError('missing thing')"]


def test_an_artifact_that_cannot_be_stored_fails_its_attempt(project: Project) -> None:
    done = project.run("faulty", "run", "--mode", "lambda")
    assert done.returncode == 1
    run = project.latest("FaultyFlow")
    work = _task(project, run.pathspec, "work")
    attempt = project.store.get_attempt(work)
    assert attempt.exception is not None
    assert attempt.exception.type == "flowtrail.errors.ArtifactError"
    assert "step 'work': artifact 'fn' cannot be serialised" in attempt.exception.message
    # The attempt keeps the artifacts that could be stored.
    kept = project.artifacts(work, attempt=attempt.number)
    assert kept == {"mode": "lambda", "tried": attempt.number, "done": True}


def _wait_for(path: Path, proc: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)


def _recorded_task(project: Project, run: Pathspec, step: str) -> Pathspec:
    """The task once the scheduler has written it (it writes a few times a second)."""
    deadline = time.monotonic() + 30
    while True:
        found = [t.pathspec for t in project.tasks(run) if t.pathspec.step == step]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no task of {step!r} was recorded"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_run_command_cancels_the_run(project: Project, sig: int) -> None:
    marker = project.path / "ready"
    proc = project.start("sleepy", "run", SLEEPY_MARKER=str(marker))
    _wait_for(marker, proc)
    run = project.latest("SleepyFlow")
    wait = _recorded_task(project, run.pathspec, "wait")
    # Logs are readable while the task still runs.
    deadline = time.monotonic() + 30
    while project.log(wait) != ["waiting"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    run = project.store.get_run(run.pathspec)
    assert run.status is Status.CANCELLED
    assert run.finished_at is not None
    assert project.store.get_task(wait).status is Status.CANCELLED
    assert project.store.get_attempt(wait).status is Status.CANCELLED
    assert project.store.find_metadata(wait, attempt=0, field_name="finished_at").items


def test_queued_tasks_are_pending_until_a_worker_takes_them(project: Project) -> None:
    marker = project.path / "ready"
    proc = project.start("queued", "run", "--max-workers", "1", QUEUED_MARKER=str(marker))
    _wait_for(marker, proc)
    run = project.latest("QueuedFlow").pathspec
    deadline = time.monotonic() + 30
    while len([t for t in project.tasks(run) if t.pathspec.step == "each"]) < 3:
        assert time.monotonic() < deadline, "the foreach's tasks were never recorded"
        time.sleep(0.05)
    each = [t for t in project.tasks(run) if t.pathspec.step == "each"]
    assert [t.status for t in each] == [Status.RUNNING, Status.PENDING, Status.PENDING]
    assert [len(project.store.find_attempts(t.pathspec).items) for t in each] == [1, 0, 0]
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    each = [t for t in project.tasks(run) if t.pathspec.step == "each"]
    assert [t.status for t in each] == [Status.CANCELLED] * 3


def test_a_killed_scheduler_is_seen_lost(project: Project) -> None:
    marker = project.path / "ready"
    proc = project.start("sleepy", "run", "--heartbeat-timeout", "1", SLEEPY_MARKER=str(marker))
    _wait_for(marker, proc)
    run = project.latest("SleepyFlow")
    assert run.status is Status.RUNNING
    wait = _recorded_task(project, run.pathspec, "wait")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 60
    while project.store.get_run(run.pathspec).status is not Status.LOST:
        assert time.monotonic() < deadline, "the run was never recorded lost"
        time.sleep(0.2)
    # The reader recorded it: another reader sees lost too, with no timeout of its own.
    from flowtrail.store import open_store

    with open_store(f"sqlite:///{project.path / '.flowtrail' / 'flowtrail.db'}") as other:
        assert other.get_run(run.pathspec).status is Status.LOST
    # Nothing of it reads running forever: the task that ran and its attempt are lost too.
    lost = project.store.get_run(run.pathspec)
    assert project.store.get_task(wait).status is Status.LOST
    attempt = project.store.get_attempt(wait)
    assert (attempt.status, attempt.finished_at) == (Status.LOST, lost.finished_at)
    assert {t.status for t in project.tasks(run.pathspec)} == {Status.SUCCEEDED, Status.LOST}
