"""One recorded history read through every object of the client, on a local home and on
PostgreSQL."""

from __future__ import annotations

import copy
import pickle
import tarfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from flowtrail.client import (
    Artifacts,
    Code,
    Data,
    DataArtifact,
    Flow,
    Flowtrail,
    Metadata,
    Run,
    Step,
    Task,
    Trigger,
)
from flowtrail.client.provider import current_provider
from flowtrail.errors import InvalidPathspec, NamespaceMismatch, NotFound
from flowtrail.model import (
    AttemptEnd,
    ExceptionInfo,
    NewArtifact,
    NewAttempt,
    NewRun,
    NewStep,
    NewTask,
    Status,
    StepKind,
    TriggerEvent,
)
from tests.client.conftest import ALICE, History
from tests.client.history import FLOW_SOURCE, HELPER_SOURCE, T0


def test_flowtrail_lists_the_flows_of_the_namespace(any_history: History) -> None:
    root = Flowtrail()
    assert [f.id for f in root] == ["TrainFlow"]  # UpstreamFlow has only bob's run
    assert root.flows == [Flow("TrainFlow")]
    assert "TrainFlow" in root
    assert "UpstreamFlow" not in root
    with pytest.raises(NamespaceMismatch, match=r"namespace\(None\)"):
        root["UpstreamFlow"]
    assert "Nope" not in root
    assert root["TrainFlow"].pathspec == "TrainFlow"


def test_flow(any_history: History) -> None:
    flow = Flow("TrainFlow")
    assert (flow.id, flow.pathspec, flow.path_components, flow.parent) == (
        "TrainFlow",
        "TrainFlow",
        ["TrainFlow"],
        None,
    )
    assert isinstance(flow.created_at, datetime)
    assert [r.id for r in flow] == ["5", "4", "2", "1"]  # newest first, alice's only
    assert flow.latest_run == Run("TrainFlow/5")
    assert flow.latest_successful_run == Run("TrainFlow/4")
    assert [r.id for r in flow.runs("team:ml")] == ["2", "1"]
    assert [r.id for r in flow.runs("team:ml", "prod")] == ["2"]
    assert [r.id for r in flow.runs(limit=2)] == ["5", "4"]
    assert list(flow.runs("nobody-has-this")) == []
    assert "2" in flow
    assert "3" not in flow  # bob's
    assert "99" not in flow
    assert flow["2"] == Run("TrainFlow/2")


def test_run(any_history: History) -> None:
    run = Run("TrainFlow/2")
    assert (run.id, run.pathspec, run.path_components) == (
        "2",
        "TrainFlow/2",
        ["TrainFlow", "2"],
    )
    assert run.parent == Flow("TrainFlow")
    assert run.created_at == T0.replace(hour=14)
    assert run.status is Status.SUCCEEDED
    assert run.successful
    assert run.finished
    assert run.finished_at is not None
    assert run.finished_at > run.created_at
    assert run.user == "alice"
    assert run.parameters == {"epochs": 5}
    assert run.user_tags == {"team:ml", "prod"}
    assert "user:alice" in run.system_tags
    assert "runtime:local" in run.system_tags
    assert run.tags == run.user_tags | run.system_tags
    assert run.origin_pathspec is None
    assert [s.id for s in run] == ["end", "join", "train", "start"]
    assert "train" in run
    assert [s.id for s in run.steps("team:ml", "prod")] == ["end", "join", "train", "start"]
    assert list(run.steps("other")) == []
    assert [t.id for t in run["train"].tasks("prod")] == ["2", "3", "4"]
    assert list(run["train"].tasks("other")) == []
    assert "nope" not in run
    assert run["train"] == Step("TrainFlow/2/train")
    end = run.end_task
    assert end is not None
    assert end.pathspec == "TrainFlow/2/end/6"
    assert run.data is not None
    assert run.data.accuracy == 0.97


def test_failed_and_resumed_runs(any_history: History) -> None:
    failed = Run("TrainFlow/5")
    assert failed.status is Status.FAILED
    assert failed.finished
    assert not failed.successful
    assert failed.end_task is None
    assert failed.data is None
    resumed = Run("TrainFlow/4")
    assert resumed.origin_pathspec == "TrainFlow/1"
    assert {"origin-run:1", "resume-step:train"} <= resumed.system_tags
    start = resumed["start"].task
    assert start is not None
    assert start.origin_pathspec == "TrainFlow/1/start/1"
    assert resumed["start"].origin_pathspec == "TrainFlow/1/start"
    assert start["alphas"].origin_pathspec == "TrainFlow/1/start/1/alphas"
    assert resumed["join"].origin_pathspec is None


def test_step(any_history: History) -> None:
    step = Step("TrainFlow/2/train")
    assert step.parent == Run("TrainFlow/2")
    assert step.kind is StepKind.LINEAR
    assert step.next_steps == ("join",)
    tasks = list(step)
    assert [t.id for t in tasks] == ["2", "3", "4"]
    assert [t.index for t in tasks] == [0, 1, 2]
    assert step.task == tasks[0]
    assert step.finished_at == max(t.finished_at for t in tasks if t.finished_at)
    assert step.environment_info["runtime"] == "local"
    assert step.tags == Run("TrainFlow/2").tags
    assert step["3"] == Task("TrainFlow/2/train/3")
    assert "3" in step
    assert "1" not in step
    assert Step("TrainFlow/2/start").task is not None
    assert Step("TrainFlow/2/start").task.index is None  # type: ignore[union-attr]


def test_task(any_history: History) -> None:
    task = Task("TrainFlow/2/train/3")  # retried: attempt 0 failed, attempt 1 succeeded
    assert task.parent == Step("TrainFlow/2/train")
    assert task.index == 1
    assert task.current_attempt == 1
    assert task.status is Status.SUCCEEDED
    assert task.successful
    assert task.finished
    assert task.exception is None
    assert task.finished_at is not None
    assert task.runtime_name == "local"
    meta = task.metadata
    assert all(isinstance(m, Metadata) for m in meta)
    assert {m.attempt for m in meta} == {1}
    accuracy = next(m for m in meta if m.name == "accuracy")
    assert (accuracy.field_name, accuracy.type, accuracy.value) == ("accuracy", "user", 0.99)
    assert accuracy.ts_epoch == int(accuracy.created_at.timestamp() * 1000)
    assert task.metadata_dict["attempt"] == 1
    assert task.metadata_dict["runtime"] == "local"
    assert task.metadata_dict["retry"] is True
    assert task.environment_info == {
        "runtime": "local",
        "python_version": "3.11.7",
        "host": "host-1",
        "pid": 4242,
        "flowtrail_version": "0.1.0",
    }
    assert task.stdout == "attempt 1"
    assert task.stderr == ""
    lines = list(task.loglines("stdout"))
    assert len(lines) == 1
    assert lines[0][1] == "attempt 1"
    assert lines[0][0].tzinfo is not None
    assert next(iter(task.loglines("stdout", as_unicode=False)))[1] == b"attempt 1"
    with pytest.raises(ValueError, match="stdout, stderr"):
        list(task.loglines("stdnothing"))
    assert [p.pathspec for p in task.parent_tasks] == ["TrainFlow/2/start/1"]
    assert [c.pathspec for c in task.child_tasks] == ["TrainFlow/2/join/5"]
    assert [p.id for p in Task("TrainFlow/2/join/5").parent_tasks] == ["2", "3", "4"]
    assert task.origin_pathspec is None


def test_task_attempts(any_history: History) -> None:
    first = Task("TrainFlow/2/train/3", attempt=0)
    assert first.current_attempt == 0
    assert first.status is Status.FAILED
    assert not first.successful
    assert first.finished
    assert first.exception == ExceptionInfo("ValueError", "attempt 0 failed", "Traceback ...")
    assert first.stderr == "ValueError: boom"
    assert first.stdout == "attempt 0"
    assert first.metadata_dict["attempt"] == 0
    assert list(first) == []  # the failed attempt stored no artifact
    assert "alpha" not in first
    assert first != Task("TrainFlow/2/train/3")
    assert repr(first) == "Task('TrainFlow/2/train/3', attempt=0)"
    assert Task("TrainFlow/2/train/3", attempt=1).stdout == Task("TrainFlow/2/train/3").stdout
    with pytest.raises(NotFound, match="no attempt 7"):
        Task("TrainFlow/2/train/3", attempt=7)
    with pytest.raises(ValueError, match="attempt"):
        Task("TrainFlow/2/train/3", attempt=-1)
    failed = Task("TrainFlow/5/train/4")
    assert failed.status is Status.FAILED
    assert failed.exception is not None
    assert failed.exception.type == "ValueError"


def test_task_data_and_artifacts(any_history: History) -> None:
    task = Task("TrainFlow/2/train/2")
    data = task.data
    assert isinstance(data, Data)
    assert data.alpha == 0.1
    assert data.model == {"w": [0.1, 0.1, 0.1]}
    assert data["loss"] == 0.01
    assert "model" in data
    assert "nope" not in data
    assert dir(data) == ["alpha", "loss", "model"]
    assert list(data) == ["alpha", "loss", "model"]
    with pytest.raises(AttributeError, match="nope"):
        _ = data.nope
    with pytest.raises(KeyError):
        data["nope"]
    artifacts = task.artifacts
    assert isinstance(artifacts, Artifacts)
    assert artifacts.model == DataArtifact("TrainFlow/2/train/2/model")
    assert [a.id for a in artifacts] == ["alpha", "loss", "model"]
    assert "loss" in artifacts
    assert len(artifacts) == 3
    assert [a.id for a in task] == ["alpha", "loss", "model"]
    assert task["model"].data == {"w": [0.1, 0.1, 0.1]}
    assert "model" in task
    assert "nope" not in task


def test_data_artifact(any_history: History) -> None:
    artifact = DataArtifact("TrainFlow/2/train/2/model")
    assert artifact.id == "model"
    assert artifact.path_components == ["TrainFlow", "2", "train", "2", "model"]
    assert artifact.data == {"w": [0.1, 0.1, 0.1]}
    assert len(artifact.sha) == 64
    assert artifact.size > 0
    assert artifact.encoding == "pickle-v5"
    assert artifact.python_type == "builtins.dict"
    assert artifact.value is None
    assert artifact.created_at == artifact.finished_at
    assert artifact.attempt == 0
    assert artifact.parent == Task("TrainFlow/2/train/2")
    assert artifact.tags == Run("TrainFlow/2").tags
    assert DataArtifact("TrainFlow/2/train/2/alpha").value == 0.1
    retried = DataArtifact("TrainFlow/2/train/3/alpha")
    assert retried.attempt == 1
    assert retried.parent == Task("TrainFlow/2/train/3")
    asked = Task("TrainFlow/2/train/3", attempt=1)["alpha"]
    assert asked.parent == Task("TrainFlow/2/train/3", attempt=1)
    with pytest.raises(NotFound):
        DataArtifact("TrainFlow/2/train/3/alpha", attempt=0)
    assert not hasattr(artifact, "__iter__")


def test_code(any_history: History) -> None:
    code = Run("TrainFlow/2").code
    assert isinstance(code, Code)
    assert code.script_name == "flow.py"
    assert code.info == {"files": ["flow.py", "helpers.py"]}
    assert code.path.endswith(f"blobs/{code.sha[:2]}/{code.sha}")
    assert code.flowspec == FLOW_SOURCE
    with code.tarball as tar:
        assert isinstance(tar, tarfile.TarFile)
        assert sorted(tar.getnames()) == ["flow.py", "helpers.py"]
    with code.extract() as folder:
        assert Path(folder, "helpers.py").read_text() == HELPER_SOURCE
    assert not Path(folder).exists()
    task_code = Task("TrainFlow/2/end/6").code
    assert task_code is not None
    assert task_code.sha == code.sha


def test_trigger(any_history: History) -> None:
    assert Run("TrainFlow/1").trigger is None
    trigger = Run("TrainFlow/2").trigger
    assert isinstance(trigger, Trigger)
    assert [e.name for e in trigger.events] == ["data_ready", "UpstreamFlow"]
    event = trigger.event
    assert isinstance(event, TriggerEvent)
    assert (event.name, event.id, event.type) == ("UpstreamFlow", "UpstreamFlow/1", "run")
    assert event.timestamp.tzinfo is not None
    # The triggering run is bob's, outside the namespace: shown all the same.
    assert trigger.run == Run("UpstreamFlow/1", _namespace_check=False)
    assert trigger.runs == [trigger.run]
    assert trigger["UpstreamFlow"] == trigger.run
    data_ready = trigger["data_ready"]
    assert isinstance(data_ready, TriggerEvent)
    assert data_ready.id == "evt-1"
    assert "data_ready" in trigger
    assert len(trigger) == 2
    with pytest.raises(KeyError):
        trigger["nothing"]


@pytest.mark.parametrize(
    ("make", "missing"),
    [
        (lambda: Flow("TrainFlow"), "99"),
        (lambda: Run("TrainFlow/2"), "nostep"),
        (lambda: Step("TrainFlow/2/train"), "99"),
        (lambda: Task("TrainFlow/2/train/2"), "nothing"),
        (lambda: Flowtrail(), "NoFlow"),
    ],
)
def test_a_missing_child_is_a_key_error(history: History, make: object, missing: str) -> None:
    parent = make()  # type: ignore[operator]
    with pytest.raises(KeyError):
        parent[missing]
    assert missing not in parent
    assert 42 not in parent


@pytest.mark.parametrize(
    ("cls", "text", "shape"),
    [
        (Flow, "TrainFlow/2", "Flow"),
        (Run, "TrainFlow", "Flow/run_id"),
        (Run, "TrainFlow/2/start", "Flow/run_id"),
        (Step, "TrainFlow/2", "Flow/run_id/step"),
        (Task, "TrainFlow/2/start", "Flow/run_id/step/task_id"),
        (DataArtifact, "TrainFlow/2/start/1", "Flow/run_id/step/task_id/artifact"),
        (Run, "TrainFlow//2", "Flow/run_id"),
    ],
)
def test_malformed_pathspecs_show_the_expected_shape(
    history: History, cls: type, text: str, shape: str
) -> None:
    with pytest.raises(InvalidPathspec, match=f"expected '{shape}'"):
        cls(text)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Flow("NoFlow"),
        lambda: Run("TrainFlow/99"),
        lambda: Step("TrainFlow/2/nostep"),
        lambda: Task("TrainFlow/2/train/99"),
        lambda: Task("TrainFlow/2/join/2"),  # task 2 exists, in another step
        lambda: DataArtifact("TrainFlow/2/train/2/nothing"),
    ],
)
def test_missing_objects_are_not_found(history: History, make: object) -> None:
    with pytest.raises(NotFound):
        make()  # type: ignore[operator]


def test_objects_compare_and_show_by_pathspec(history: History) -> None:
    assert Run("TrainFlow/2") == Flow("TrainFlow")["2"]
    assert hash(Run("TrainFlow/2")) == hash(Flow("TrainFlow")["2"])
    assert Run("TrainFlow/2") != Run("TrainFlow/1")
    assert Run("TrainFlow/2") != Step("TrainFlow/2/start")
    assert repr(Step("TrainFlow/2/start")) == "Step('TrainFlow/2/start')"
    assert Flow("TrainFlow")["2"]["train"]["3"]["alpha"].data == 1.0
    assert Task("TrainFlow/2/train/3").parent.parent.parent == Flow("TrainFlow")


def test_a_retry_that_runs_shows_none_of_the_failed_attempts_artifacts(history: History) -> None:
    store = history.provider.store
    run = store.create_run(NewRun("ArtFlow", system_tags=frozenset({ALICE}))).pathspec
    store.create_step(NewStep(run.child("start"), StepKind.START))
    task = run.child("start").child("1")
    store.create_task(NewTask(task))
    store.start_attempt(NewAttempt(task, 0))
    store.record_artifacts(
        [NewArtifact(task.child("x"), 0, "ab" * 32, 1, "builtins.int", "json", 1)]
    )
    store.finish_attempt(AttemptEnd(task, 0, Status.FAILED))
    store.start_attempt(NewAttempt(task, 1))  # running, nothing stored yet
    assert "x" in Task(str(task), attempt=0).data  # what the failed attempt had
    latest = Task(str(task))
    assert latest.current_attempt == 1
    assert "x" not in latest.data
    assert list(latest) == []


def test_objects_pickle_and_copy_by_what_names_them(history: History) -> None:
    objects = [
        Flow("TrainFlow"),
        Run("TrainFlow/2"),
        Step("TrainFlow/2/train"),
        Task("TrainFlow/2/train/3", attempt=0),
        DataArtifact("TrainFlow/2/train/2/model"),
    ]
    for obj in objects:
        again = pickle.loads(pickle.dumps(obj))
        assert again == obj
        assert type(again) is type(obj)
        assert copy.deepcopy(obj) == obj
    task = pickle.loads(pickle.dumps(objects[3]))
    assert task.current_attempt == 0  # the attempt it showed
    assert task.status is Status.FAILED
    assert task.provider is current_provider()  # the same stores: their open connections
    assert pickle.loads(pickle.dumps(objects[4])).data == {"w": [0.1, 0.1, 0.1]}
    # The root, and a task's data and artifacts, too.
    root = pickle.loads(pickle.dumps(Flowtrail()))
    assert root.provider is current_provider()
    assert [flow.id for flow in root] == [flow.id for flow in Flowtrail()]
    data = Task("TrainFlow/2/train/2").data
    assert pickle.loads(pickle.dumps(data)).model == data.model
    artifacts = pickle.loads(pickle.dumps(Task("TrainFlow/2/train/2").artifacts))
    assert artifacts.model.sha == DataArtifact("TrainFlow/2/train/2/model").sha


def test_a_pickle_carries_no_service_token(history: History) -> None:
    settings = replace(history.provider.settings, service_token="secret-token-123")
    run = Run("TrainFlow/2", provider=settings)
    assert b"secret-token-123" not in pickle.dumps(run)
    assert b"secret-token-123" not in pickle.dumps(Flowtrail(provider=settings))
