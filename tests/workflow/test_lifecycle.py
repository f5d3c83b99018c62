"""Workflow ids reused, a dead driver resumed, cancel, delete, list_all and the errors the
issue names."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from flowtrail import workflow
from flowtrail.errors import InvalidTransition, WorkflowCancellationError, WorkflowExecutionError
from tests.workflow.conftest import Project

STEPS = """
import os, sys, time
from pathlib import Path
from flowtrail import workflow

HERE = Path(__file__).resolve().parent  # resumed elsewhere, the tasks still write here

def mark(name):
    with open(HERE / name, "a") as f:
        f.write("x\\n")

@workflow.task
def first():
    mark("first")
    return 1

@workflow.task
def second(x):
    mark("second")
    if (HERE / "fail").exists():
        raise RuntimeError("told to fail")
    while (HERE / "block").exists():
        time.sleep(0.05)
    return x + 1

print(workflow.run(second.bind(first.bind()), workflow_id="w", heartbeat_timeout=1.0))
"""


def _wait_for(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while not predicate():
        assert time.monotonic() < deadline, f"waited too long for {what}"
        time.sleep(0.05)


def test_a_finished_id_returns_its_output_without_running(project: Project) -> None:
    first = project.python("w.py", STEPS)
    assert first.returncode == 0, first.stderr
    again = project.python("w.py", STEPS)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == ["2"]
    assert "exists already" in again.stderr
    assert "the DAG given to workflow.run is ignored" in again.stderr
    assert project.count("first") == project.count("second") == 1


def test_a_failed_id_resumes_from_its_checkpoints(project: Project) -> None:
    (project.path / "fail").touch()
    failed = project.python("w.py", STEPS)
    assert failed.returncode != 0
    assert "told to fail" in failed.stderr
    assert workflow.get_status("w", settings=project.settings) == workflow.FAILED
    (project.path / "fail").unlink()
    resumed = project.python("w.py", STEPS)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.split() == ["2"]
    assert project.count("first") == 1  # its output was recorded: not run again
    assert project.count("second") == 2
    assert workflow.get_status("w", settings=project.settings) == workflow.SUCCESSFUL


def test_a_killed_driver_is_resumable_and_resumes(project: Project) -> None:
    (project.path / "block").touch()
    driver = project.start("w.py", STEPS)
    _wait_for(lambda: project.count("second") == 1, "the second task to start")
    # Records are written in batches a few times a second: wait until first's is.
    _wait_for(
        lambda: (
            "end_time"
            in workflow.get_metadata("w", "__main__.first", settings=project.settings)["stats"]
        ),
        "the first task's output to be recorded",
    )
    with pytest.raises(RuntimeError, match=r"^Workflow 'w' is already running or pending\.$"):
        workflow.run(workflow.task(lambda: 0).bind(), workflow_id="w", settings=project.settings)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    _wait_for(
        lambda: workflow.get_status("w", settings=project.settings) == workflow.RESUMABLE,
        "the dead workflow to be recorded lost",
    )
    meta = workflow.get_metadata("w", settings=project.settings)
    assert meta["status"] == "RESUMABLE"
    assert list(meta["stats"]) == ["start_time"]
    assert workflow.list_all(workflow.RESUMABLE, settings=project.settings) == [
        ("w", workflow.RESUMABLE)
    ]
    (project.path / "block").unlink()
    assert workflow.resume("w", settings=project.settings) == 2
    assert project.count("first") == 1
    assert project.count("second") == 2
    assert workflow.get_status("w", settings=project.settings) == workflow.SUCCESSFUL


@workflow.task
def wait_for(path: str) -> str:
    while Path(path).exists():
        time.sleep(0.05)
    return "done"


def test_cancel_a_running_workflow(project: Project) -> None:
    block = project.path / "block"
    block.touch()
    future = workflow.run_async(wait_for.bind(str(block)), "c", settings=project.settings)
    assert future.workflow_id == "c"
    _wait_for(
        lambda: workflow.get_status("c", settings=project.settings) == workflow.RUNNING,
        "the workflow to run",
    )
    workflow.cancel("c", settings=project.settings)
    assert workflow.get_status("c", settings=project.settings) == workflow.CANCELED
    with pytest.raises(WorkflowCancellationError):
        future.result(timeout=60)
    assert list(workflow.get_metadata("c", settings=project.settings)["stats"]) == ["start_time"]
    # A cancelled workflow resumes (it runs its task again).
    block.unlink()
    assert workflow.resume("c", settings=project.settings) == "done"
    with pytest.raises(ValueError, match="No such workflow_id 'nope'"):
        workflow.cancel("nope", settings=project.settings)


def test_delete(project: Project) -> None:
    block = project.path / "block"
    block.touch()
    future = workflow.run_async(wait_for.bind(str(block)), "d", settings=project.settings)
    _wait_for(
        lambda: workflow.get_status("d", settings=project.settings) == workflow.RUNNING,
        "the workflow to run",
    )
    with pytest.raises(InvalidTransition, match="'d' is RUNNING: cancel it"):
        workflow.delete("d", settings=project.settings)
    block.unlink()
    assert future.result(timeout=60) == "done"
    workflow.delete("d", settings=project.settings)
    with pytest.raises(ValueError, match="No such workflow_id 'd'"):
        workflow.get_status("d", settings=project.settings)
    assert workflow.list_all(settings=project.settings) == []
    with pytest.raises(ValueError, match="No such workflow_id 'd'"):
        workflow.delete("d", settings=project.settings)


@workflow.task
def one() -> int:
    return 1


def test_list_all_filters(project: Project) -> None:
    workflow.run(one.bind(), "a", settings=project.settings)
    with pytest.raises(WorkflowExecutionError):
        workflow.run(
            workflow.task(lambda: 1 / 0).bind(), "b", name="div", settings=project.settings
        )
    everything = workflow.list_all(settings=project.settings)
    assert sorted(everything) == [("a", "SUCCESSFUL"), ("b", "FAILED")]
    assert workflow.list_all("FAILED", settings=project.settings) == [("b", workflow.FAILED)]
    both = {workflow.SUCCESSFUL, "FAILED"}
    assert len(workflow.list_all(both, settings=project.settings)) == 2
    with pytest.raises(ValueError, match="NOT_A_STATUS"):
        workflow.list_all("NOT_A_STATUS", settings=project.settings)
    assert workflow.resume_all(settings=project.settings) == []
    [(resumed, future)] = workflow.resume_all(include_failed=True, settings=project.settings)
    assert resumed == "b"
    with pytest.raises(WorkflowExecutionError, match="ZeroDivisionError"):
        future.result(timeout=60)


def test_the_errors_the_issue_names(project: Project) -> None:
    dag = one.bind()
    with pytest.raises(ValueError, match=r"^metadata must be a dict\.$"):
        workflow.run(dag, "e", metadata=[1], settings=project.settings)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^metadata must be JSON serializable, instead, we got"):
        workflow.run(dag, "e", metadata={"s": {1}}, settings=project.settings)
    with pytest.raises(ValueError, match=r"^metadata must be a dict\.$"):
        workflow.options(metadata="x")
    with pytest.raises(ValueError, match=r"^No such workflow_id 'x'$"):
        workflow.get_metadata("x", settings=project.settings)
    workflow.run(dag, "w", settings=project.settings)
    with pytest.raises(ValueError, match=r"^No such task_id 't' in workflow 'w'$"):
        workflow.get_metadata("w", "t", settings=project.settings)
    with pytest.raises(ValueError, match="Invalid option keywords"):
        workflow.options(max_retries=2)
    with pytest.raises(ValueError, match="max_retries must be an int >= 0"):
        one.options(max_retries=-1)


@pytest.mark.parametrize("where", ["workflow", "task"])
def test_metadata_that_cannot_be_recorded_leaves_nothing(project: Project, where: str) -> None:
    # JSON-valid, so accepted by the checks Ray makes, but no field name can be empty.
    dag = one.options(metadata={"": 1}).bind() if where == "task" else one.bind()
    given = {"": 1} if where == "workflow" else None
    with pytest.raises(ValueError, match=r"^metadata key '' cannot be recorded"):
        workflow.run(dag, "mk", metadata=given, settings=project.settings)
    assert workflow.list_all(settings=project.settings) == []
    with pytest.raises(ValueError, match=r"^No such workflow_id 'mk'$"):
        workflow.get_status("mk", settings=project.settings)
    assert workflow.run(one.bind(), "mk", settings=project.settings) == 1


def test_an_id_taken_by_a_flow_run_says_so(project: Project) -> None:
    from flowtrail.model import NewRun
    from flowtrail.runtime.stores import open_run_store

    store = open_run_store(project.settings)
    try:
        store.create_run(NewRun(flow_name="one", run_id="taken", user="someone"))
    finally:
        store.close()
    with pytest.raises(ValueError, match=r"^flow 'one' already has a run 'taken' that is not"):
        workflow.run(one.bind(), "taken", settings=project.settings)
    assert workflow.run(one.bind(), "taken", name="other", settings=project.settings) == 1


def test_default_ids_are_numbered_upstream_first(project: Project) -> None:
    @workflow.task
    def add(a: int, b: int) -> int:
        return a + b

    named = add.options(task_id="n")
    dag = add.bind(add.bind(1, 2), {"k": [add.bind(named.bind(0, 1), named.bind(0, 2))]}["k"][0])
    assert workflow.run(dag, "ids", settings=project.settings) == 6
    base = "tests.workflow.test_lifecycle.test_default_ids_are_numbered_upstream_first.locals.add"
    # Upstream first: add(1, 2), then n, n_1, then the add of those, then the top one.
    meta = workflow.get_metadata("ids", f"{base}_1", settings=project.settings)
    assert meta["workflow_refs"] == ["n", "n_1"]
    top = workflow.get_metadata("ids", f"{base}_2", settings=project.settings)
    assert top["workflow_refs"] == [base, f"{base}_1"]
    assert workflow.get_output("ids", task_id="n_1", settings=project.settings) == 2
    generated = workflow.run(one.bind(), settings=project.settings)
    assert generated == 1
    assert len(workflow.list_all(settings=project.settings)) == 2


def _append(path: str) -> int:
    with open(path, "a") as f:
        f.write("x\n")
    return len(Path(path).read_text().splitlines())


@workflow.task(checkpoint=False)
def unkept(path: str, fail_from: int) -> int:
    if _append(path) >= fail_from:
        raise RuntimeError("unkept failed")
    return 5


@workflow.task
def fails_first(x: int, path: str) -> int:
    if _append(path) == 1:
        raise RuntimeError("first time")
    return 2 * x


def test_a_task_without_checkpoint_runs_again_on_resume(project: Project) -> None:
    from tests.workflow.test_retries import _attempts

    settings = project.settings
    up, down = str(project.path / "up"), str(project.path / "down")
    with pytest.raises(WorkflowExecutionError, match="first time"):
        workflow.run(fails_first.bind(unkept.bind(up, 99), down), "ck", settings=settings)
    assert workflow.resume("ck", settings=settings) == 10
    assert (project.count("up"), project.count("down")) == (2, 2)
    assert workflow.get_status("ck", settings=settings) is workflow.SUCCESSFUL
    up_id = "tests.workflow.test_lifecycle.unkept"
    # Its task stays succeeded (a final status); each execution is one more attempt.
    assert _attempts(project, "fails_first/ck", up_id) == ["succeeded", "succeeded"]
    stats = workflow.get_metadata("ck", up_id, settings=settings)["stats"]
    assert list(stats) == ["start_time", "end_time"]

    # When the task fails the second time, the workflow fails, and resumes later.
    up2, down2 = str(project.path / "up2"), str(project.path / "down2")
    with pytest.raises(WorkflowExecutionError, match="first time"):
        workflow.run(fails_first.bind(unkept.bind(up2, 2), down2), "ck2", settings=settings)
    with pytest.raises(WorkflowExecutionError, match="unkept failed"):
        workflow.resume("ck2", settings=settings)
    assert workflow.get_status("ck2", settings=settings) is workflow.FAILED
    assert _attempts(project, "fails_first/ck2", up_id) == ["succeeded", "failed"]
    assert list(workflow.get_metadata("ck2", up_id, settings=settings)["stats"]) == ["start_time"]
