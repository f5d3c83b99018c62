"""``flowtrail.compat.metaflow``: Metaflow's client names, and a script in the style of
Metaflow's client tutorial that runs with only its import changed."""

from __future__ import annotations

import pytest

import flowtrail.client as client
from flowtrail.compat import metaflow as mf
from flowtrail.errors import FlowtrailError, InvalidPathspec, NamespaceMismatch, NotFound
from flowtrail.model import TriggerEvent
from tests.client.conftest import History


def test_the_names_are_the_clients() -> None:
    assert mf.Metaflow is client.Flowtrail
    for name in ("Flow", "Run", "Step", "Task", "DataArtifact", "Metadata"):
        assert getattr(mf, name) is getattr(client, name)
    for name in ("namespace", "get_namespace", "default_namespace"):
        assert getattr(mf, name) is getattr(client, name)
    for name in ("metadata", "get_metadata", "default_metadata"):
        assert getattr(mf, name) is getattr(client, name)
    assert mf.MetaflowData is client.Data
    assert mf.MetaflowArtifacts is client.Artifacts
    assert mf.MetaflowCode is client.Code
    assert mf.MetaflowTrigger is client.Trigger
    assert mf.MetaflowEvent is TriggerEvent
    assert mf.MetaflowException is FlowtrailError
    assert mf.MetaflowNotFound is NotFound
    assert issubclass(mf.MetaflowNotFound, KeyError)
    assert mf.MetaflowNamespaceMismatch is NamespaceMismatch
    assert mf.MetaflowInvalidPathspec is InvalidPathspec


def test_a_metaflow_tutorial_script_runs(history: History) -> None:
    from flowtrail.compat.metaflow import (
        DataArtifact,
        Flow,
        Metaflow,
        Run,
        Step,
        Task,
        default_namespace,
        get_metadata,
        get_namespace,
        namespace,
    )

    lines = [f"provider {get_metadata()}", f"namespace {get_namespace()}"]
    lines += [f"flow {flow.id}" for flow in Metaflow()]
    flow = Flow("TrainFlow")
    latest = flow.latest_successful_run
    if latest:
        lines.append(f"latest {latest.id} accuracy {latest['end'].task.data.accuracy:.2f}")
    for run in list(flow)[:10]:
        if run.successful:
            lines.append(f"run {run.id} {run['end'].task.data.accuracy:.3f} {sorted(run.tags)[0]}")
    run = Run("TrainFlow/2")
    assert run.pathspec == "TrainFlow/2"
    if "train" in run:
        results = [
            {"index": task.index, "alpha": task.data.alpha, "loss": task.data.loss}
            for task in run["train"]
        ]
        best = min(results, key=lambda r: r["loss"])
        lines.append(f"best alpha {best['alpha']}")
    task = Task("TrainFlow/2/join/5")
    lines += [f"parent {p.pathspec} {p.data.alpha}" for p in task.parent_tasks]
    lines += [f"child {c.pathspec}" for c in task.child_tasks]
    for m in Task("TrainFlow/2/train/2").metadata:
        if m.name == "accuracy":
            lines.append(f"metadata {m.name}: {m.value}")
    md = Task("TrainFlow/2/train/2").metadata_dict
    lines.append(f"attempt {md['attempt']} runtime {md['runtime']}")
    data = Task("TrainFlow/2/train/2").data
    lines.append("artifacts " + " ".join(n for n in dir(data) if not n.startswith("_")))
    artifact = DataArtifact("TrainFlow/2/train/2/model")
    lines.append(f"artifact {artifact.id} {artifact.data} {artifact.size > 0}")
    step = Step("TrainFlow/2/train")
    lines.append(f"step {step.id} {step.task.id}")  # type: ignore[union-attr]
    if run.code:
        lines.append(f"script {run.code.script_name}")
        with run.code.extract() as tmp_dir:
            lines.append(f"extracted {bool(tmp_dir)}")
    namespace(None)
    lines.append(f"all runs {len(list(Flow('TrainFlow')))}")
    default_namespace()
    assert lines == [
        f"provider local@{history.home}",
        "namespace user:alice",
        "flow TrainFlow",
        "latest 4 accuracy 0.97",
        "run 4 0.970 date:2024-05-01",
        "run 2 0.970 date:2024-05-01",
        "run 1 0.970 date:2024-05-01",
        "best alpha 0.1",
        "parent TrainFlow/2/train/2 0.1",
        "parent TrainFlow/2/train/3 1.0",
        "parent TrainFlow/2/train/4 10.0",
        "child TrainFlow/2/end/6",
        "metadata accuracy: 0.999",
        "attempt 0 runtime local",
        "artifacts alpha loss model",
        "artifact model {'w': [0.1, 0.1, 0.1]} True",
        "step train 2",
        "script flow.py",
        "extracted True",
        "all runs 5",
    ]


def test_a_flow_outside_the_namespace_is_metaflows_mismatch(history: History) -> None:
    from flowtrail.compat.metaflow import Flow, Metaflow, MetaflowNamespaceMismatch, namespace

    namespace("user:other")
    for make in (lambda: Flow("TrainFlow"), lambda: Metaflow()["TrainFlow"]):
        with pytest.raises(MetaflowNamespaceMismatch, match=r"namespace\(None\)"):
            make()
    namespace(None)
    assert Flow("TrainFlow").latest_run is not None
