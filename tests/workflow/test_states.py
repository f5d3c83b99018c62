"""get_metadata and get_status in every state a workflow can be in (pending, running,
cancelled), Ray's ``ray_options`` (what was given to ``.options`` and the decorator) and Ray's
default task ids (its slug of ``module.qualname``)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flowtrail import workflow
from flowtrail.client import Run
from flowtrail.errors import InvalidTransition
from flowtrail.model import NewRun, PageRequest, Pathspec, Status
from flowtrail.workflow.history import open_session
from tests.workflow.conftest import Project


def _wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        assert time.monotonic() < deadline, f"waited too long for {what}"
        time.sleep(0.05)


def test_a_pending_workflow(project: Project) -> None:
    # The API never leaves a workflow pending, but a run recorded pending under a workflow's
    # tag (another writer's, say) must read as Ray's PENDING, with empty stats.
    with open_session(project.settings) as session:
        session.store.create_run(
            NewRun("pend", "p", status=Status.PENDING, system_tags=frozenset({"workflow:p"}))
        )
    settings = project.settings
    assert workflow.get_metadata("p", settings=settings) == {
        "status": "PENDING",
        "user_metadata": {},
        "stats": {},
    }
    assert workflow.get_status("p", settings=settings) is workflow.PENDING
    assert workflow.list_all(workflow.PENDING, settings=settings) == [("p", workflow.PENDING)]
    with pytest.raises(RuntimeError, match=r"^Workflow 'p' is already running or pending\.$"):
        workflow.run(workflow.task(lambda: 0).bind(), "p", settings=settings)
    with pytest.raises(InvalidTransition, match="'p' is PENDING: cancel it"):
        workflow.delete("p", settings=settings)
    workflow.cancel("p", settings=settings)
    assert workflow.get_status("p", settings=settings) is workflow.CANCELED
    workflow.delete("p", settings=settings)
    assert workflow.list_all(settings=settings) == []


def test_a_dead_workflow_is_resumable_and_cancelled_at_once(project: Project) -> None:
    # A run whose writer fell silent (no heartbeat within its timeout) is read as lost.
    settings = project.settings
    with open_session(settings) as session:
        session.store.create_run(
            NewRun(
                "dead",
                "l",
                system_tags=frozenset({"workflow:l"}),
                heartbeat_timeout=timedelta(milliseconds=1),
            )
        )
    _wait_for(
        lambda: workflow.get_status("l", settings=settings) is workflow.RESUMABLE,
        "the silent workflow to be read as lost",
    )
    found = workflow.get_metadata("l", settings=settings)
    assert found["status"] == "RESUMABLE"
    assert list(found["stats"]) == ["start_time"]
    workflow.cancel("l", settings=settings)
    assert workflow.get_status("l", settings=settings) is workflow.CANCELED
    assert list(workflow.get_metadata("l", settings=settings)["stats"]) == ["start_time"]
    # A deleted workflow's id is free again: running it starts afresh.
    workflow.delete("l", settings=settings)
    assert workflow.run(first.bind(), "l", settings=settings) == 1
    assert workflow.list_all(settings=settings) == [("l", workflow.SUCCESSFUL)]


@workflow.task
def first() -> int:
    return 1


@workflow.task
def held(x: int, path: str) -> int:
    while Path(path).exists():
        time.sleep(0.05)
    return x + 1


def test_a_running_then_cancelled_workflow(project: Project) -> None:
    settings = project.settings
    block = project.path / "block"
    block.touch()
    future = workflow.run_async(
        held.bind(first.bind(), str(block)), "r", metadata={"k": [1]}, settings=settings
    )
    ids = ["tests.workflow.test_states.first", "tests.workflow.test_states.held"]
    _wait_for(
        lambda: workflow.get_metadata("r", ids[1], settings=settings)["stats"] != {},
        "the second task to start",
    )
    running = workflow.get_metadata("r", settings=settings)
    assert running["status"] == "RUNNING" == workflow.get_status("r", settings=settings)
    assert running["user_metadata"] == {"k": [1]}
    assert list(running["stats"]) == ["start_time"]
    assert list(workflow.get_metadata("r", ids[1], settings=settings)["stats"]) == ["start_time"]
    done = workflow.get_metadata("r", ids[0], settings=settings)["stats"]
    assert list(done) == ["start_time", "end_time"]
    assert all(isinstance(v, float) for v in done.values())
    # run_async raises at once, in the caller, for an id that is running.
    with pytest.raises(RuntimeError, match=r"^Workflow 'r' is already running or pending\.$"):
        workflow.run_async(first.bind(), "r", settings=settings)

    workflow.cancel("r", settings=settings)
    cancelled = workflow.get_metadata("r", settings=settings)
    assert cancelled["status"] == "CANCELED" == workflow.get_status("r", settings=settings)
    assert cancelled["stats"] == {"start_time": running["stats"]["start_time"]}
    assert list(workflow.get_metadata("r", ids[1], settings=settings)["stats"]) == ["start_time"]
    with pytest.raises(workflow.WorkflowCancellationError):
        future.result(timeout=60)
    with pytest.raises(workflow.WorkflowCancellationError):
        workflow.get_output("r", settings=settings)
    assert workflow.get_output("r", task_id=ids[0], settings=settings) == 1


def test_a_task_that_never_ran_has_empty_stats(project: Project) -> None:
    @workflow.task
    def boom() -> int:
        raise KeyError("k")

    with pytest.raises(workflow.WorkflowExecutionError):
        workflow.run(held.bind(boom.bind(), "nowhere"), "f", settings=project.settings)
    found = workflow.get_metadata("f", "tests.workflow.test_states.held", settings=project.settings)
    assert found["stats"] == {}
    assert found["workflow_refs"] == [
        "tests.workflow.test_states.test_a_task_that_never_ran_has_empty_stats.locals.boom"
    ]
    with pytest.raises(workflow.WorkflowExecutionError, match="failed before task"):
        workflow.get_output("f", settings=project.settings)


@workflow.task(max_retries=5)
def trip() -> None:
    pass


def test_ray_options_hold_what_was_given(project: Project) -> None:
    # Ray keeps a task's bound options as ray_options: the decorator's, then .options(...)'s,
    # with the workflow options under _metadata.
    dag = trip.options(
        retry_exceptions=True, **workflow.options(task_id="trip", metadata={"k1": "v1"})
    ).bind()
    workflow.run(dag, "t", settings=project.settings)
    found = workflow.get_metadata("t", "trip", settings=project.settings)["task_options"]
    assert found == {
        "task_type": "FUNCTION",
        "max_retries": 5,
        "catch_exceptions": False,
        "retry_exceptions": True,
        "checkpoint": True,
        "ray_options": {
            "max_retries": 5,
            "retry_exceptions": True,
            "_metadata": {"workflow.io/options": {"task_id": "trip", "metadata": {"k1": "v1"}}},
        },
    }
    assert list(found["ray_options"]) == ["max_retries", "retry_exceptions", "_metadata"]

    # Options given as keywords of .options (flowtrail allows workflow options there too)
    # land where Ray keeps them.
    plain = first.options(catch_exceptions=True, max_retries=0).bind()
    workflow.run(plain, "p", settings=project.settings)
    found = workflow.get_metadata(
        "p", "tests.workflow.test_states.first", settings=project.settings
    )
    assert found["task_options"]["ray_options"] == {
        "_metadata": {"workflow.io/options": {"catch_exceptions": True}},
        "max_retries": 0,
    }
    untouched = workflow.run(first.bind(), "u", settings=project.settings)
    assert untouched == 1
    found = workflow.get_metadata(
        "u", "tests.workflow.test_states.first", settings=project.settings
    )
    assert found["task_options"]["ray_options"] == {}


@workflow.task
def pair(a: Any, b: Any) -> tuple[Any, Any]:
    return (a, b)


def test_default_ids_are_rays_slug_of_module_and_qualname(project: Project) -> None:
    # Ray drops what is not a word character, '.' or '-': '<locals>' and '<lambda>' lose
    # their brackets.
    outer = workflow.task(lambda: 1)

    def make() -> Any:
        return workflow.task(lambda: 2)

    dag = pair.bind(outer.bind(), make().bind())
    assert workflow.run(dag, "slug", settings=project.settings) == (1, 2)
    here = "tests.workflow.test_states.test_default_ids_are_rays_slug_of_module_and_qualname"
    found = workflow.get_metadata(
        "slug", "tests.workflow.test_states.pair", settings=project.settings
    )
    assert found["workflow_refs"] == [f"{here}.locals.lambda", f"{here}.locals.make.locals.lambda"]


def test_a_workflow_reads_as_a_run_in_the_client_and_the_cli(project: Project) -> None:
    @workflow.task
    def double(x: int) -> int:
        return 2 * x

    @workflow.task
    def add(a: int, b: int) -> int:
        return a + b

    total = add.options(**workflow.options(task_id="total", metadata={"k1": "v1"}))
    dag = total.bind(double.bind(2), double.bind(3))
    settings = project.settings
    assert workflow.run(dag, "sums", metadata={"k2": "v2"}, settings=settings) == 10

    # Flow = the entry function's name, run id = the workflow id, each task a step holding
    # one task with the workflow task's id, its output an artifact, its options recorded.
    run = Run.bound("add/sums", settings)
    assert run.successful
    assert "workflow:sums" in run.system_tags
    here = "tests.workflow.test_states.test_a_workflow_reads_as_a_run_in_the_client_and_the_cli"
    ids = {"double": f"{here}.locals.double", "double_1": f"{here}.locals.double_1"}
    ids["total"] = "total"
    steps = {step.id: [task.id for task in step] for step in run}
    assert steps == {step: [task_id] for step, task_id in ids.items()}
    outputs = {step: run[step].task.data.output for step in ids}  # type: ignore[union-attr]
    assert outputs == {"double": 4, "double_1": 6, "total": 10}
    # The output step is the run's end: its data is the run's data, as a flow's end is.
    assert run.end_task is not None
    assert run.end_task.pathspec == "add/sums/total/total"
    assert run.data is not None
    assert run.data.output == 10
    meta = run["total"].task.metadata_dict  # type: ignore[union-attr]
    assert meta["k1"] == "v1"
    assert json.loads(meta["workflow.task_options"])["max_retries"] == 3
    assert meta["workflow.upstream"] == [ids["double"], ids["double_1"]]
    with open_session(settings) as session:
        entries = session.store.find_metadata(Pathspec("add", "sums"), PageRequest(100))
        assert [(e.field_name, e.value.value) for e in entries if e.type == "user"] == [
            ("k2", "v2")
        ]

    shown = project.cli("show", "add/sums", "--output", "json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["status"] == "succeeded"
    assert sorted(s["step"] for s in document["steps"]) == sorted(ids)
    assert "workflow:sums" in document["system_tags"]
    task = project.cli("show", "add/sums/total/total", "--output", "json")
    assert task.returncode == 0, task.stderr
    assert "output" in task.stdout


def test_a_workflow_carries_the_image_tag_of_flowtrail_image(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    @workflow.task
    def one() -> int:
        return 1

    monkeypatch.setenv("FLOWTRAIL_IMAGE", "registry.example.org/etl:3")
    assert workflow.run(one.bind(), "imaged", settings=project.settings) == 1
    run = Run.bound("one/imaged", project.settings)
    assert "image:registry.example.org/etl:3" in run.system_tags
    assert {t.split(":")[0] for t in run.system_tags} >= {
        "user",
        "runtime",
        "python_version",
        "flowtrail_version",
        "date",
        "workflow",
        "image",
    }
