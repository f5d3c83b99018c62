"""Retries and caught exceptions, as in Ray: a crashed worker is always retried, an exception
only with retry_exceptions, at most 1 + max_retries attempts; catch_exceptions returns
(result, None) or (None, exc)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from flowtrail import workflow
from flowtrail.errors import WorkflowExecutionError
from flowtrail.model import LogStream, PageRequest, Pathspec
from flowtrail.store import open_store
from tests.workflow.conftest import Project


def _attempts(project: Project, run: str, task: str) -> list[str]:
    flow, run_id = run.split("/")
    with open_store(project.settings.metadata_url) as store:
        tasks = {t.task_id: t for t in store.find_tasks(Pathspec(flow, run_id), PageRequest(100))}
        found = store.find_attempts(tasks[task].pathspec, PageRequest(100))
        return [str(a.status) for a in found]


def _mark(path: Path) -> int:
    """Append a line to ``path``; returns how many lines it has now (this execution's number)."""
    with path.open("a") as f:
        f.write("x\n")
    return len(path.read_text().splitlines())


class Boom(Exception):
    pass


@workflow.task
def crash_twice(marks: str, how: str) -> str:
    if _mark(Path(marks)) <= 2:
        if how == "exit":
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)
    return "survived"


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_a_crashed_worker_is_always_retried(project: Project, how: str) -> None:
    marks = project.path / "marks"
    out = workflow.run(
        crash_twice.bind(str(marks), how), workflow_id=f"c-{how}", settings=project.settings
    )
    assert out == "survived"
    assert project.count("marks") == 3
    assert _attempts(project, f"crash_twice/c-{how}", _id("crash_twice")) == [
        "failed",
        "failed",
        "succeeded",
    ]


def _id(name: str) -> str:
    return f"tests.workflow.test_retries.{name}"


def test_crashes_stop_after_one_plus_max_retries_attempts(project: Project) -> None:
    marks = project.path / "marks"
    dag = crash_twice.options(max_retries=1).bind(str(marks), "exit")
    with pytest.raises(WorkflowExecutionError, match="worker process exited with code 3"):
        workflow.run(dag, workflow_id="c", settings=project.settings)
    assert project.count("marks") == 2
    assert workflow.get_status("c", settings=project.settings) == workflow.FAILED


@workflow.task
def fail(marks: str) -> None:
    _mark(Path(marks))
    raise Boom("no luck")


def test_an_exception_is_not_retried_by_default(project: Project) -> None:
    with pytest.raises(WorkflowExecutionError, match="Boom: no luck") as info:
        workflow.run(fail.bind(str(project.path / "m")), workflow_id="f", settings=project.settings)
    assert isinstance(info.value.__cause__, Boom)
    assert project.count("m") == 1
    found = workflow.get_metadata("f", _id("fail"), settings=project.settings)
    assert list(found["stats"]) == ["start_time"]  # a task that raised has no end_time
    assert set(workflow.get_metadata("f", settings=project.settings)["stats"]) == {
        "start_time",
        "end_time",
    }
    # Its stderr ends with the traceback, as a step's does.
    with open_store(project.settings.metadata_url) as store:
        run = Pathspec("fail", "f")
        task = next(t for t in store.find_tasks(run, PageRequest(10)) if t.task_id == _id("fail"))
        err = store.read_log_lines(task.pathspec, attempt=0, stream=LogStream.STDERR)
    assert err[0].text == "Traceback (most recent call last):"
    assert err[-1].text == "tests.workflow.test_retries.Boom: no luck"


def test_retry_exceptions_retries_up_to_max_retries(project: Project) -> None:
    dag = fail.options(retry_exceptions=True, max_retries=2).bind(str(project.path / "m"))
    with pytest.raises(WorkflowExecutionError):
        workflow.run(dag, workflow_id="f", settings=project.settings)
    assert project.count("m") == 3
    assert _attempts(project, "fail/f", _id("fail")) == ["failed"] * 3


def test_catch_exceptions_returns_the_exception(project: Project) -> None:
    dag = fail.options(**workflow.options(catch_exceptions=True)).bind(str(project.path / "m"))
    result, error = workflow.run(dag, workflow_id="caught", settings=project.settings)
    assert result is None
    assert isinstance(error, Boom)
    assert str(error) == "no luck"
    assert workflow.get_status("caught", settings=project.settings) == workflow.SUCCESSFUL
    found = workflow.get_metadata("caught", _id("fail"), settings=project.settings)
    assert found["task_options"]["catch_exceptions"] is True
    assert list(found["stats"]) == ["start_time"]


@workflow.task(catch_exceptions=True)
def fine() -> int:
    return 7


def test_catch_exceptions_returns_the_result(project: Project) -> None:
    assert workflow.run(fine.bind(), workflow_id="ok", settings=project.settings) == (7, None)


def test_a_caught_crash_after_its_retries(project: Project) -> None:
    dag = crash_twice.options(max_retries=0, catch_exceptions=True).bind(
        str(project.path / "m"), "exit"
    )
    result, error = workflow.run(dag, workflow_id="cc", settings=project.settings)
    assert result is None
    assert "exited with code 3" in str(error)
