"""The client's batch bodies are exactly what the wire model would dump, for every kind of
record and every optional field set and unset."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from flowtrail.model import (
    AttemptEnd,
    Batch,
    ExceptionInfo,
    ForeachFrame,
    MetadataValue,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewStep,
    NewTask,
    Pathspec,
    Status,
    StepKind,
    TaskStatusChange,
)
from flowtrail.wire import BatchModel
from flowtrail.wire.payloads import batch_payload

RUN = Pathspec.of("F", "7")
T1 = RUN.child("each").child("3")
T2 = RUN.child("join").child("4")
AT = datetime(2026, 12, 2, 10, 30, 1, 250000, tzinfo=UTC)


def _batch(run_status: Status | None) -> Batch:
    return Batch(
        "b-1",
        RUN,
        steps=(
            NewStep(RUN.child("each"), StepKind.LINEAR, ("join",), AT),
            NewStep(RUN.child("join"), StepKind.JOIN),
        ),
        tasks=(
            NewTask(T1, Status.PENDING, (ForeachFrame("start", 3, 10),), (), None, AT),
            NewTask(T2, Status.RUNNING, (ForeachFrame("start", 0),), (T1,), T1),
        ),
        attempts=(NewAttempt(T1, 0, "host-a", 4242, AT), NewAttempt(T2, 1)),
        metadata=(
            NewMetadata(RUN, "owner", MetadataValue.text("ml team")),
            NewMetadata(T1, "loss", MetadataValue.float(math.inf), "user", 0, AT),
            NewMetadata(T1, "cfg", MetadataValue.json({"a": [1, 2], "b": None}), "system", 0),
            NewMetadata(T1, "ok", True, "user", 0),
            NewMetadata(T1, "docs", MetadataValue.url("https://example.org"), "user"),
        ),
        artifacts=tuple(
            NewArtifact(T1.child(f"a{i}"), 0, "0" * 64, 10 + i, "builtins.x", "pickle", v, at)
            for i, (v, at) in enumerate(
                [(None, AT), (True, None), (7, AT), (0.1, None), ("short", AT), (-0.0, None)]
            )
        ),
        log_lines=(
            NewLogLine(T1, 0, "stdout", 0, "hello ü", AT),
            NewLogLine(T1, 0, "stderr", 1, ""),
        ),
        attempt_ends=(
            AttemptEnd(T1, 0, Status.FAILED, ExceptionInfo("ValueError", "bad", "tb\n"), AT),
            AttemptEnd(T2, 1, Status.SUCCEEDED),
        ),
        task_statuses=(TaskStatusChange(T1, Status.FAILED, AT), TaskStatusChange(T2, "running")),
        heartbeat=True,
        run_status=run_status,
    )


@pytest.mark.parametrize("run_status", [None, Status.SUCCEEDED])
def test_a_batch_payload_is_the_models_dump(run_status: Status | None) -> None:
    batch = _batch(run_status)
    assert batch_payload(batch) == BatchModel.of(batch).model_dump(mode="json")
    # And the service reads it back to the same batch.
    assert BatchModel.model_validate(batch_payload(batch)).to_input() == batch


def test_an_empty_batch() -> None:
    batch = Batch("b-2", RUN)
    assert batch_payload(batch) == BatchModel.of(batch).model_dump(mode="json")
