"""Contract: metadata entries, artifact index rows and log lines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowtrail.errors import AlreadyExists, InvalidArgument, NotFound
from flowtrail.model import (
    LogStream,
    MetadataType,
    MetadataValue,
    NewArtifact,
    NewLogLine,
    NewMetadata,
    NewRun,
    PageRequest,
    utc_now,
)
from flowtrail.store import MetadataStore
from tests.contract.history import run_with_task

SHA_A, SHA_B = "a" * 64, "b" * 64


def test_task_and_run_metadata(store: MetadataStore) -> None:
    run, task = run_with_task(store)
    store.record_metadata(
        [
            NewMetadata(task, "attempt", MetadataValue.of(0), type="attempt", attempt=0),
            NewMetadata(task, "score", MetadataValue.of(0.93), attempt=0),
            NewMetadata(task, "note", MetadataValue.of("baseline"), attempt=0),
            NewMetadata(task, "score", MetadataValue.of(0.95), attempt=1),
            NewMetadata(run.pathspec, "git_sha", MetadataValue.text("abc123"), type="system"),
        ]
    )
    entries = store.find_metadata(task).items
    assert [(e.field_name, e.value.value) for e in entries] == [
        ("attempt", 0),
        ("score", 0.93),
        ("note", "baseline"),
        ("score", 0.95),
    ]
    assert entries[0].type == "attempt"
    assert entries[1].type == "user"
    assert entries[1].value.type is MetadataType.FLOAT
    assert entries[1].pathspec == task
    assert abs(entries[0].created_at - utc_now()) < timedelta(minutes=1)
    assert [e.value.value for e in store.find_metadata(task, field_name="score")] == [0.93, 0.95]
    assert [e.field_name for e in store.find_metadata(task, attempt=1)] == ["score"]
    run_entries = store.find_metadata(run.pathspec).items
    assert [(e.field_name, e.value.value) for e in run_entries] == [("git_sha", "abc123")]


def test_metadata_values_of_every_type_round_trip(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    values = [
        MetadataValue.text("t"),
        MetadataValue.url("https://example.org"),
        MetadataValue.json({"a": [1, 2, None]}),
        MetadataValue.markdown("# hi"),
        MetadataValue.path("/tmp/x"),
        MetadataValue.int(2**62),
        MetadataValue.float(-1.5),
        MetadataValue.bool(True),
    ]
    store.record_metadata([NewMetadata(task, f"f{i}", v) for i, v in enumerate(values)])
    assert [e.value for e in store.find_metadata(task)] == values


def test_metadata_pages(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    store.record_metadata([NewMetadata(task, f"k{i}", MetadataValue.of(i)) for i in range(7)])
    seen: list[int] = []
    request: PageRequest | None = PageRequest(3)
    while request is not None:
        page = store.find_metadata(task, request)
        seen += [e.value.value for e in page]
        request = page.next_request()
    assert seen == list(range(7))


def test_metadata_errors(store: MetadataStore) -> None:
    run, task = run_with_task(store)
    with pytest.raises(NotFound):
        store.record_metadata([NewMetadata(run.pathspec.child("start").child("9"), "k", 1)])  # type: ignore[arg-type]
    other = store.create_run(NewRun("F")).pathspec
    with pytest.raises(InvalidArgument, match="items of 2 runs"):
        store.record_metadata(
            [
                NewMetadata(task, "k", MetadataValue.of(1)),
                NewMetadata(other, "k", MetadataValue.of(1)),
            ]
        )
    with pytest.raises(InvalidArgument, match="belongs to a run"):
        store.find_metadata(run.pathspec.child("start"))
    assert store.find_metadata(task).items == ()  # nothing half-written


def test_artifacts(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    rows = [
        NewArtifact(task.child("accuracy"), 0, SHA_A, 12, "builtins.float", "json", 0.91),
        NewArtifact(task.child("model"), 0, SHA_B, 4096, "sklearn.Model", "pickle-v5"),
        NewArtifact(task.child("flag"), 0, SHA_A, 4, "builtins.bool", "json", True),
        NewArtifact(task.child("name"), 0, SHA_B, 3, "builtins.str", "utf-8", "abc"),
        NewArtifact(task.child("count"), 0, SHA_A, 2, "builtins.int", "json", 42),
    ]
    store.record_artifacts(rows)
    store.record_artifacts(rows[:2])  # identical rows again: skipped
    listed = store.find_artifacts(task).items
    assert [a.name for a in listed] == ["accuracy", "count", "flag", "model", "name"]
    by_name = {a.name: a for a in listed}
    assert by_name["accuracy"].value == 0.91
    assert by_name["model"].value is None
    assert by_name["flag"].value is True
    assert by_name["count"].value == 42
    assert by_name["name"].value == "abc"
    assert by_name["model"].size == 4096
    assert by_name["model"].encoding == "pickle-v5"
    assert by_name["model"].python_type == "sklearn.Model"
    assert by_name["model"].sha == SHA_B
    assert store.get_artifact(task.child("model")) == by_name["model"]


def test_artifacts_per_attempt(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    store.record_artifacts([NewArtifact(task.child("x"), 0, SHA_A, 1, "builtins.int", "json", 1)])
    store.record_artifacts(
        [
            NewArtifact(task.child("x"), 1, SHA_B, 1, "builtins.int", "json", 2),
            NewArtifact(task.child("y"), 1, SHA_B, 1, "builtins.int", "json", 3),
        ]
    )
    assert store.get_artifact(task.child("x")).value == 2
    assert store.get_artifact(task.child("x"), attempt=0).value == 1
    assert [a.name for a in store.find_artifacts(task)] == ["x", "y"]
    assert [a.name for a in store.find_artifacts(task, attempt=0)] == ["x"]
    with pytest.raises(NotFound, match="does not exist in attempt 0"):
        store.get_artifact(task.child("y"), attempt=0)
    with pytest.raises(AlreadyExists, match="never rewritten"):
        store.record_artifacts(
            [NewArtifact(task.child("x"), 0, SHA_B, 1, "builtins.int", "json", 9)]
        )
    page = store.find_artifacts(task, PageRequest(1))
    assert [a.name for a in store.find_artifacts(task, page.next_request())] == ["y"]


def test_log_lines(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    now = utc_now()
    out = [NewLogLine(task, 0, LogStream.STDOUT, i, f"line {i}", now) for i in range(5)]
    err = [NewLogLine(task, 0, LogStream.STDERR, 0, "warning!")]
    store.append_log_lines(out[:3] + err)
    store.append_log_lines(out[2:])  # line 2 again: skipped
    lines = store.read_log_lines(task, attempt=0, stream=LogStream.STDOUT)
    assert [(ln.seq, ln.text) for ln in lines] == [(i, f"line {i}") for i in range(5)]
    assert lines[0].created_at == now
    tail = store.read_log_lines(task, attempt=0, stream=LogStream.STDOUT, offset=3, limit=1)
    assert [ln.text for ln in tail] == ["line 3"]
    stderr = store.read_log_lines(task, attempt=0, stream=LogStream.STDERR)
    assert [ln.text for ln in stderr] == ["warning!"]
    assert store.read_log_lines(task, attempt=1, stream=LogStream.STDOUT) == []
    with pytest.raises(InvalidArgument, match="limit must be from 1 to 1000"):
        store.read_log_lines(task, attempt=0, stream=LogStream.STDOUT, limit=0)


def test_log_lines_keep_text_exactly(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    texts = ["", "  indented", "ünïcödé ✓", "tab\there", "x" * 10_000]
    store.append_log_lines(
        [NewLogLine(task, 0, LogStream.STDOUT, i, t) for i, t in enumerate(texts)]
    )
    lines = store.read_log_lines(task, attempt=0, stream=LogStream.STDOUT)
    assert [ln.text for ln in lines] == texts


def test_captured_text_any_database_can_hold(store: MetadataStore) -> None:
    from flowtrail.model import AttemptEnd, Batch, ExceptionInfo, NewAttempt, Status

    run, task = run_with_task(store)
    store.write_batch(
        Batch(
            "b-odd-text",
            run.pathspec,
            attempts=(NewAttempt(task, 0),),
            log_lines=(NewLogLine(task, 0, LogStream.STDOUT, 0, "bytes \x00\x01 and \ud83d"),),
            artifacts=(
                NewArtifact(task.child("s"), 0, SHA_A, 3, "builtins.str", "utf-8", "a\x00b"),
            ),
            attempt_ends=(
                AttemptEnd(task, 0, Status.FAILED, ExceptionInfo("E", "bad \x00 value", "tb")),
            ),
        )
    )
    [line] = store.read_log_lines(task, attempt=0, stream=LogStream.STDOUT)
    assert line.text == "bytes \ufffd\x01 and \ufffd"
    assert store.get_attempt(task).exception == ExceptionInfo("E", "bad \ufffd value", "tb")
    assert store.get_artifact(task.child("s")).value is None
