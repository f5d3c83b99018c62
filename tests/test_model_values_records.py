"""Typed metadata values, the records a store returns, the inputs a writer hands it, and pages."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from flowtrail.errors import InvalidArgument, InvalidPathspec, InvalidTag
from flowtrail.model import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    ArtifactRecord,
    AttemptEnd,
    AttemptRecord,
    Batch,
    CodePackage,
    ExceptionInfo,
    FlowRecord,
    ForeachFrame,
    LogLine,
    LogStream,
    MetadataEntry,
    MetadataType,
    MetadataValue,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    Page,
    PageRequest,
    Pathspec,
    RunFilter,
    RunRecord,
    Status,
    StepKind,
    StepRecord,
    TaskRecord,
    TaskStatusChange,
    TriggerEvent,
    to_epoch_ms,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
SHA = "ab" * 32
RUN = Pathspec.parse("F/12")
TASK = Pathspec.parse("F/12/train/3")


# --- typed metadata values --------------------------------------------------------------------


def test_metadata_types() -> None:
    assert {t.value for t in MetadataType} == {
        "text",
        "url",
        "json",
        "markdown",
        "path",
        "int",
        "float",
        "bool",
    }


@pytest.mark.parametrize(
    ("value", "meta_type", "stored"),
    [
        (MetadataValue.text("hello"), MetadataType.TEXT, "hello"),
        (MetadataValue.url("https://x.org/a?b=1"), MetadataType.URL, "https://x.org/a?b=1"),
        (MetadataValue.json({"a": [1, 2]}), MetadataType.JSON, {"a": [1, 2]}),
        (MetadataValue.markdown("# Title"), MetadataType.MARKDOWN, "# Title"),
        (MetadataValue.path("/data/x.csv"), MetadataType.PATH, "/data/x.csv"),
        (MetadataValue.path(Path("/data/x.csv")), MetadataType.PATH, "/data/x.csv"),
        (MetadataValue.path(PurePosixPath("rel/x")), MetadataType.PATH, "rel/x"),
        (MetadataValue.int(42), MetadataType.INT, 42),
        (MetadataValue.float(0.5), MetadataType.FLOAT, 0.5),
        (MetadataValue.bool(False), MetadataType.BOOL, False),
    ],
)
def test_constructors(value: MetadataValue, meta_type: MetadataType, stored: Any) -> None:
    assert value.type is meta_type
    assert value.value == stored
    assert type(value.value) is type(stored)
    assert MetadataValue(meta_type, stored) == value
    assert MetadataValue(meta_type.value, stored) == value  # type: ignore[arg-type]


def test_float_accepts_int_as_float() -> None:
    v = MetadataValue.float(3)
    assert v.value == 3.0
    assert type(v.value) is float


def test_json_normalises_to_json_shapes() -> None:
    assert MetadataValue.json((1, 2)).value == [1, 2]
    assert MetadataValue.json({1: "a"}).value == {"1": "a"}
    assert MetadataValue.json(None).value is None


@pytest.mark.parametrize(
    ("plain", "meta_type", "stored"),
    [
        (True, MetadataType.BOOL, True),
        (False, MetadataType.BOOL, False),
        (0, MetadataType.INT, 0),
        (-7, MetadataType.INT, -7),
        (2.5, MetadataType.FLOAT, 2.5),
        ("text", MetadataType.TEXT, "text"),
        ("", MetadataType.TEXT, ""),
        (Path("a/b"), MetadataType.PATH, str(Path("a/b"))),
        ({"k": 1}, MetadataType.JSON, {"k": 1}),
        ([1, "x"], MetadataType.JSON, [1, "x"]),
        ((1, 2), MetadataType.JSON, [1, 2]),
        (None, MetadataType.JSON, None),
    ],
)
def test_of_converts_plain_values(plain: Any, meta_type: MetadataType, stored: Any) -> None:
    v = MetadataValue.of(plain)
    assert v.type is meta_type
    assert v.value == stored
    assert type(v.value) is type(stored)


def test_of_checks_bool_before_int() -> None:
    assert MetadataValue.of(True).type is MetadataType.BOOL
    assert MetadataValue.of(1).type is MetadataType.INT
    assert MetadataValue.of(True) != MetadataValue.of(1)


def test_of_passes_typed_values_through() -> None:
    v = MetadataValue.url("https://x.org")
    assert MetadataValue.of(v) is v


@pytest.mark.parametrize("plain", [object(), b"bytes", {1, 2}, 1j, datetime(2024, 1, 1)])
def test_of_refuses_unsupported(plain: Any) -> None:
    with pytest.raises(InvalidArgument, match="metadata values are"):
        MetadataValue.of(plain)


@pytest.mark.parametrize(
    ("build", "shown"),
    [
        (lambda: MetadataValue.int("x"), "int metadata value cannot be str"),
        (lambda: MetadataValue.int(True), "int metadata value cannot be bool"),
        (lambda: MetadataValue.int(1.5), "int metadata value cannot be float"),
        (lambda: MetadataValue.bool(1), "bool metadata value cannot be int"),
        (lambda: MetadataValue.bool("true"), "bool metadata value cannot be str"),
        (lambda: MetadataValue.float("1.0"), "float metadata value cannot be str"),
        (lambda: MetadataValue.float(True), "float metadata value cannot be bool"),
        (lambda: MetadataValue.json(object()), "json metadata value cannot be object"),
        (lambda: MetadataValue.json({"s": {1}}), "json metadata value cannot be dict"),
        (lambda: MetadataValue.text(1), "text metadata value cannot be int"),
        (lambda: MetadataValue.url(None), "url metadata value cannot be NoneType"),
        (lambda: MetadataValue.markdown(b"#"), "markdown metadata value cannot be bytes"),
        (lambda: MetadataValue(MetadataType.PATH, Path("x")), "path metadata value cannot be"),
    ],
)
def test_wrong_types_refused(build: Any, shown: str) -> None:
    with pytest.raises(InvalidArgument, match=shown):
        build()


def test_unknown_type_refused() -> None:
    with pytest.raises(InvalidArgument, match="metadata type must be one of text, url"):
        MetadataValue("number", 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="got 'number'"):
        MetadataValue.from_text("number", "1")


def test_float_too_large_refused() -> None:
    # An int beyond the float range cannot become a float value; that is a bad argument, not
    # an OverflowError escaping from the model.
    with pytest.raises(InvalidArgument, match="float metadata value"):
        MetadataValue.float(10**400)


ROUND_TRIP = [
    MetadataValue.text("hello\nworld"),
    MetadataValue.text(""),
    MetadataValue.text('{"looks": "like json"}'),
    MetadataValue.url("https://example.org/a b"),
    MetadataValue.markdown("# Title\n\n* item"),
    MetadataValue.path(Path("/data/x y.csv")),
    MetadataValue.json({"b": [1, 2.5, None, True], "a": {"nested": "ü"}}),
    MetadataValue.json([]),
    MetadataValue.json("a string"),
    MetadataValue.json(None),
    MetadataValue.json(3),
    MetadataValue.int(0),
    MetadataValue.int(-(2**63)),
    MetadataValue.int(10**30),
    MetadataValue.float(-0.0),
    MetadataValue.float(1e-300),
    MetadataValue.float(123456.789),
    MetadataValue.float(math.inf),
    MetadataValue.bool(True),
    MetadataValue.bool(False),
]


@pytest.mark.parametrize("value", ROUND_TRIP, ids=lambda v: f"{v.type}")
def test_text_round_trip(value: MetadataValue) -> None:
    text = value.to_text()
    assert isinstance(text, str)
    back = MetadataValue.from_text(value.type, text)
    assert back == value
    assert type(back.value) is type(value.value)
    assert MetadataValue.from_text(str(value.type), text) == value


@pytest.mark.parametrize("value", ROUND_TRIP, ids=lambda v: f"{v.type}")
def test_a_stored_value_reads_back_as_the_checked_way_reads_it(value: MetadataValue) -> None:
    # from_stored skips the checks a write made already; what it builds must not differ.
    text = value.to_text()
    back = MetadataValue.from_stored(str(value.type), text)
    assert back == MetadataValue.from_text(str(value.type), text) == value
    assert back.type is value.type
    assert type(back.value) is type(value.value)


def test_from_stored_falls_back_to_the_checks_for_what_a_store_never_writes() -> None:
    assert MetadataValue.from_stored("float", "1") == MetadataValue.float(1.0)
    assert type(MetadataValue.from_stored("float", "1").value) is float
    assert math.isnan(MetadataValue.from_stored("float", "NaN").value)
    with pytest.raises(InvalidArgument, match="metadata type must be one of"):
        MetadataValue.from_stored("number", "1")
    with pytest.raises(InvalidArgument, match="not valid text for a int"):
        MetadataValue.from_stored("int", "{")


def test_stored_values_are_shared_only_when_immutable() -> None:
    # One instance serves every entry holding a short scalar; a JSON value (a dict, a list)
    # is decoded for each, so that changing one read value changes no other.
    assert MetadataValue.from_stored("int", "7") is MetadataValue.from_stored("int", "7")
    assert MetadataValue.from_stored("text", "local") is MetadataValue.from_stored("text", "local")
    first = MetadataValue.from_stored("json", '{"a": [1]}')
    second = MetadataValue.from_stored("json", '{"a": [1]}')
    assert first == second
    first.value["a"].append(2)
    assert second.value == {"a": [1]}
    long = "x" * 5000  # long texts are not kept
    assert MetadataValue.from_stored("text", long) is not MetadataValue.from_stored("text", long)
    # A failed decode is not kept either: it fails again.
    for _ in range(2):
        with pytest.raises(InvalidArgument, match="not valid text for a int"):
            MetadataValue.from_stored("int", "{")


def test_round_trip_covers_every_type() -> None:
    assert {v.type for v in ROUND_TRIP} == set(MetadataType)


def test_nan_round_trip() -> None:
    back = MetadataValue.from_text(MetadataType.FLOAT, MetadataValue.float(math.nan).to_text())
    assert back.type is MetadataType.FLOAT
    assert math.isnan(back.value)


def test_to_text_shapes() -> None:
    assert MetadataValue.text("x").to_text() == "x"
    assert MetadataValue.int(5).to_text() == "5"
    assert MetadataValue.bool(True).to_text() == "true"
    assert MetadataValue.json({"b": 1, "a": 2}).to_text() == '{"a": 2, "b": 1}'


@pytest.mark.parametrize(
    ("meta_type", "text"),
    [
        (MetadataType.INT, "not a number"),
        (MetadataType.JSON, "{broken"),
        (MetadataType.BOOL, ""),
        (MetadataType.FLOAT, "1,5"),
    ],
)
def test_from_text_refuses_malformed_text(meta_type: MetadataType, text: str) -> None:
    with pytest.raises(InvalidArgument, match=f"not valid text for a {meta_type}"):
        MetadataValue.from_text(meta_type, text)


@pytest.mark.parametrize(
    ("meta_type", "text"),
    [(MetadataType.INT, "1.5"), (MetadataType.BOOL, "1"), (MetadataType.INT, "true")],
)
def test_from_text_refuses_wrong_json_type(meta_type: MetadataType, text: str) -> None:
    with pytest.raises(InvalidArgument, match=f"{meta_type} metadata value cannot be"):
        MetadataValue.from_text(meta_type, text)


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (MetadataValue.int(3), 3.0),
        (MetadataValue.int(-2), -2.0),
        (MetadataValue.float(2.5), 2.5),
        (MetadataValue.float(math.inf), math.inf),
        (MetadataValue.bool(True), 1.0),
        (MetadataValue.bool(False), 0.0),
        (MetadataValue.float(math.nan), None),
        (MetadataValue.text("3"), None),
        (MetadataValue.url("http://x"), None),
        (MetadataValue.markdown("1"), None),
        (MetadataValue.path("1"), None),
        (MetadataValue.json(3), None),
        # Beyond the float range: not searchable as a number, and no OverflowError.
        (MetadataValue.int(10**400), None),
        (MetadataValue.int(-(10**400)), None),
    ],
)
def test_to_number(value: MetadataValue, number: float | None) -> None:
    result = value.to_number()
    assert result == number
    if result is not None:
        assert type(result) is float


def test_metadata_value_is_frozen() -> None:
    v = MetadataValue.int(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.value = 2  # type: ignore[misc]


# --- records ----------------------------------------------------------------------------------


def make_records() -> list[Any]:
    return [
        FlowRecord(Pathspec.parse("F"), T0),
        TriggerEvent("evt", T0),
        CodePackage(SHA, "flow.py"),
        RunRecord(RUN, Status.RUNNING, T0),
        StepRecord(Pathspec.parse("F/12/train"), StepKind.LINEAR, T0),
        ForeachFrame("split", 0),
        TaskRecord(TASK, Status.RUNNING, T0),
        ExceptionInfo("ValueError", "bad"),
        AttemptRecord(TASK, 0, Status.RUNNING, T0),
        MetadataEntry(RUN, "owner", MetadataValue.text("me"), "user", T0),
        ArtifactRecord(TASK.child("model"), 0, SHA, 10, "builtins.int", "json", T0),
        LogLine(TASK, 0, LogStream.STDOUT, 0, T0, "hello"),
    ]


@pytest.mark.parametrize("record", make_records(), ids=lambda r: type(r).__name__)
def test_records_are_frozen(record: Any) -> None:
    assert dataclasses.is_dataclass(record)
    first = dataclasses.fields(record)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, first, getattr(record, first))


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (FlowRecord, {"pathspec", "created_at", "last_run_at", "metadata"}),
        (
            RunRecord,
            {
                "pathspec",
                "status",
                "created_at",
                "finished_at",
                "heartbeat_at",
                "heartbeat_timeout",
                "run_number",
                "user",
                "parameters",
                "origin_run_id",
                "trigger",
                "code_package",
                "user_tags",
                "system_tags",
                "flow_metadata",
            },
        ),
        (StepRecord, {"pathspec", "finished_at", "kind", "created_at", "next_steps"}),
        (
            TaskRecord,
            {
                "pathspec",
                "status",
                "created_at",
                "finished_at",
                "foreach_stack",
                "parent_tasks",
                "origin_pathspec",
                "latest_attempt",
            },
        ),
        (
            AttemptRecord,
            {
                "pathspec",
                "number",
                "status",
                "started_at",
                "finished_at",
                "host",
                "pid",
                "exception",
            },
        ),
        (ExceptionInfo, {"type", "message", "traceback"}),
        (
            MetadataEntry,
            {"pathspec", "field_name", "value", "type", "created_at", "attempt"},
        ),
        (
            ArtifactRecord,
            {
                "pathspec",
                "attempt",
                "sha",
                "size",
                "python_type",
                "encoding",
                "created_at",
                "value",
            },
        ),
        (LogLine, {"pathspec", "attempt", "stream", "seq", "created_at", "text"}),
    ],
)
def test_record_fields(cls: type, fields: set[str]) -> None:
    assert {f.name for f in dataclasses.fields(cls)} == fields


def test_step_kinds_and_streams() -> None:
    assert {k.value for k in StepKind} == {"start", "linear", "split", "foreach", "join", "end"}
    assert {s.value for s in LogStream} == {"stdout", "stderr"}


def test_run_record_properties() -> None:
    run = RunRecord(
        RUN,
        Status.SUCCEEDED,
        T0,
        user_tags=frozenset({"prod", "team:ml"}),
        system_tags=frozenset({"user:alice", "runtime:local"}),
    )
    assert run.run_id == "12"
    assert run.flow_name == "F"
    assert run.tags == frozenset({"prod", "team:ml", "user:alice", "runtime:local"})
    assert run.heartbeat_timeout == timedelta(minutes=2)
    assert run.parameters == {}
    assert run.trigger == ()


def test_flow_and_step_record_names() -> None:
    assert FlowRecord(Pathspec.parse("TrainFlow"), T0).name == "TrainFlow"
    assert StepRecord(Pathspec.parse("F/1/train"), StepKind.START, T0).name == "train"


def test_task_record_properties() -> None:
    plain = TaskRecord(TASK, Status.RUNNING, T0)
    assert plain.task_id == "3"
    assert plain.step_name == "train"
    assert plain.foreach_index is None
    nested = TaskRecord(
        TASK,
        Status.RUNNING,
        T0,
        foreach_stack=(ForeachFrame("outer", 4, 5), ForeachFrame("inner", 1, 3)),
    )
    assert nested.foreach_index == 1


def test_artifact_record_properties() -> None:
    artifact = ArtifactRecord(
        Pathspec.parse("F/12/train/3/model"), 0, SHA, 10, "builtins.int", "json", T0, value=7
    )
    assert artifact.name == "model"
    assert artifact.task_pathspec == TASK


def test_metadata_entry_ts_epoch() -> None:
    entry = MetadataEntry(TASK, "loss", MetadataValue.float(0.1), "user", T0, attempt=0)
    assert entry.ts_epoch == to_epoch_ms(T0)
    assert entry.ts_epoch == 1_714_564_800_123


# --- inputs -----------------------------------------------------------------------------------


def test_new_run_defaults_and_conversion() -> None:
    run = NewRun(
        "F",
        tags=["prod", "team:ml"],  # type: ignore[arg-type]
        system_tags=["user:alice"],  # type: ignore[arg-type]
        flow_metadata={"owner": "me", "stars": 3},  # type: ignore[dict-item]
    )
    assert run.run_id is None
    assert run.status is Status.RUNNING
    assert run.tags == frozenset({"prod", "team:ml"})
    assert run.system_tags == frozenset({"user:alice"})
    assert run.flow_metadata == {
        "owner": MetadataValue.text("me"),
        "stars": MetadataValue.int(3),
    }
    assert NewRun("F", "my-run.v2", Status.PENDING).run_id == "my-run.v2"


def test_new_run_coerces_status_text() -> None:
    assert NewRun("F", status="pending").status is Status.PENDING  # type: ignore[arg-type]


@pytest.mark.parametrize("flow_name", ["1flow", "my-flow", "", "a b"])
def test_new_run_bad_flow_name(flow_name: str) -> None:
    with pytest.raises(InvalidPathspec, match="flow name"):
        NewRun(flow_name)


def test_new_run_bad_run_id() -> None:
    with pytest.raises(InvalidPathspec, match="run id"):
        NewRun("F", "a b")


def test_new_run_reserved_user_tag() -> None:
    with pytest.raises(InvalidTag, match="reserved"):
        NewRun("F", tags=frozenset({"user:mallory"}))


def test_new_run_single_string_tags_refused() -> None:
    with pytest.raises(InvalidTag, match="collection of tags"):
        NewRun("F", tags="prod")  # type: ignore[arg-type]
    with pytest.raises(InvalidTag, match="collection of tags"):
        NewRun("F", system_tags="user:alice")  # type: ignore[arg-type]


def test_new_run_non_system_system_tag() -> None:
    with pytest.raises(InvalidTag, match="a system tag must start with"):
        NewRun("F", system_tags=frozenset({"prod"}))


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.LOST])
def test_new_run_status(status: Status) -> None:
    with pytest.raises(InvalidArgument, match="running or pending"):
        NewRun("F", status=status)


@pytest.mark.parametrize(
    "timeout",
    [timedelta(0), timedelta(seconds=-1), timedelta(microseconds=10), timedelta(days=367), 5],
)
def test_new_run_heartbeat_timeout(timeout: timedelta) -> None:
    with pytest.raises(InvalidArgument, match="heartbeat_timeout must be a timedelta from"):
        NewRun("F", heartbeat_timeout=timeout)


def test_new_run_bad_flow_metadata() -> None:
    with pytest.raises(InvalidArgument, match="metadata values are"):
        NewRun("F", flow_metadata={"x": object()})  # type: ignore[dict-item]


def test_new_step() -> None:
    step = NewStep(Pathspec.parse("F/1/start"), "foreach", ("body",))  # type: ignore[arg-type]
    assert step.kind is StepKind.FOREACH
    with pytest.raises(InvalidPathspec, match="expected 'Flow/run_id/step', got 'F/1'"):
        NewStep(Pathspec.parse("F/1"))
    with pytest.raises(InvalidPathspec, match="expected 'Flow/run_id/step'"):
        NewStep(TASK)
    with pytest.raises(InvalidPathspec, match="step name"):
        NewStep(Pathspec.parse("F/1/start"), next_steps=("not-a-step",))


def test_unknown_enum_text_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="step kind must be one of start, linear"):
        NewStep(Pathspec.parse("F/1/start"), "loop")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="log stream must be one of stdout, stderr"):
        NewLogLine(TASK, 0, "stdlog", 0, "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="status must be one of pending, running"):
        Status("done")


def test_new_task() -> None:
    parent = Pathspec.parse("F/12/start/1")
    task = NewTask(TASK, parent_tasks=(parent,), origin_pathspec=Pathspec.parse("F/11/train/3"))
    assert task.status is Status.RUNNING
    assert task.parent_tasks == (parent,)
    with pytest.raises(InvalidPathspec, match="expected 'Flow/run_id/step/task_id'"):
        NewTask(Pathspec.parse("F/12/train"))
    with pytest.raises(InvalidPathspec, match="expected 'Flow/run_id/step/task_id'"):
        NewTask(TASK, parent_tasks=(Pathspec.parse("F/12/start"),))
    with pytest.raises(InvalidPathspec, match="expected 'Flow/run_id/step/task_id'"):
        NewTask(TASK, origin_pathspec=Pathspec.parse("F/11"))


@pytest.mark.parametrize("parent", ["F/11/start/1", "G/12/start/1"])
def test_new_task_parent_in_another_run(parent: str) -> None:
    with pytest.raises(InvalidArgument, match=f"parent task {parent} is not in the run of"):
        NewTask(TASK, parent_tasks=(Pathspec.parse(parent),))


def test_new_attempt_and_status_change() -> None:
    assert NewAttempt(TASK, 0).number == 0
    for bad in (-1, True, 1.0):
        with pytest.raises(InvalidArgument, match="attempt numbers count from 0"):
            NewAttempt(TASK, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidPathspec):
        NewAttempt(RUN, 0)
    change = TaskStatusChange(TASK, "succeeded")  # type: ignore[arg-type]
    assert change.status is Status.SUCCEEDED
    with pytest.raises(InvalidPathspec):
        TaskStatusChange(RUN, Status.SUCCEEDED)


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.LOST])
def test_attempt_end_final_status(status: Status) -> None:
    end = AttemptEnd(TASK, 1, status, ExceptionInfo("E", "m"))
    assert end.status is status
    # Status text (as it arrives from the wire) works too.
    assert AttemptEnd(TASK, 1, status.value).status is status  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [Status.PENDING, Status.RUNNING, "running"])
def test_attempt_end_non_final_status(status: Status) -> None:
    with pytest.raises(InvalidArgument, match="an attempt ends succeeded, failed"):
        AttemptEnd(TASK, 0, status)


def test_new_artifact() -> None:
    artifact = NewArtifact(TASK.child("model"), 0, SHA, 0, "builtins.int", "json", value=1)
    assert artifact.size == 0
    with pytest.raises(InvalidPathspec, match="Flow/run_id/step/task_id/artifact"):
        NewArtifact(TASK, 0, SHA, 1, "builtins.int", "json")


@pytest.mark.parametrize("sha", ["", "ab" * 31, "AB" * 32, "zz" * 32, "ab" * 33, None, 12])
def test_new_artifact_bad_sha(sha: Any) -> None:
    with pytest.raises(InvalidArgument, match="64 lowercase hex characters"):
        NewArtifact(TASK.child("model"), 0, sha, 1, "builtins.int", "json")


def test_new_artifact_negative_size() -> None:
    refused = r"artifact size must be an int from 0 to \d+, got -1"
    with pytest.raises(InvalidArgument, match=refused):
        NewArtifact(TASK.child("model"), 0, SHA, -1, "builtins.int", "json")


@pytest.mark.parametrize("pathspec", [RUN, TASK])
def test_new_metadata_converts_plain_value(pathspec: Pathspec) -> None:
    entry = NewMetadata(pathspec, "loss", 0.25)  # type: ignore[arg-type]
    assert entry.value == MetadataValue.float(0.25)
    assert entry.type == "user"
    typed = MetadataValue.url("https://x")
    assert NewMetadata(pathspec, "docs", typed).value is typed


@pytest.mark.parametrize("pathspec", ["F", "F/12/train", "F/12/train/3/model"])
def test_new_metadata_on_wrong_level(pathspec: str) -> None:
    with pytest.raises(InvalidArgument, match="metadata belongs to a run"):
        NewMetadata(Pathspec.parse(pathspec), "x", MetadataValue.int(1))


@pytest.mark.parametrize("field_name", ["", "a\nb", "x" * 256, None, 5])
def test_new_metadata_bad_field_name(field_name: Any) -> None:
    with pytest.raises(InvalidArgument, match="metadata field_name must be 1 to 255"):
        NewMetadata(RUN, field_name, MetadataValue.int(1))


def test_new_metadata_bad_type_and_attempt() -> None:
    with pytest.raises(InvalidArgument, match="metadata type must be 1 to 255"):
        NewMetadata(RUN, "x", MetadataValue.int(1), type="")
    with pytest.raises(InvalidArgument, match="attempt numbers count from 0"):
        NewMetadata(TASK, "x", MetadataValue.int(1), attempt=-1)
    with pytest.raises(InvalidArgument, match="metadata values are"):
        NewMetadata(TASK, "x", object())  # type: ignore[arg-type]


def test_new_log_line() -> None:
    line = NewLogLine(TASK, 0, "stderr", 0, "boom")  # type: ignore[arg-type]
    assert line.stream is LogStream.STDERR
    with pytest.raises(InvalidArgument, match="seq must be an int from 0 to"):
        NewLogLine(TASK, 0, LogStream.STDOUT, -1, "x")


def test_batch_size_and_items() -> None:
    batch = Batch(
        "b-1",
        RUN,
        steps=(NewStep(Pathspec.parse("F/12/train")),),
        tasks=(NewTask(TASK),),
        attempts=(NewAttempt(TASK, 0),),
        metadata=(NewMetadata(RUN, "x", MetadataValue.int(1)), NewMetadata(TASK, "y", 2)),  # type: ignore[arg-type]
        artifacts=(NewArtifact(TASK.child("model"), 0, SHA, 1, "builtins.int", "json"),),
        log_lines=(NewLogLine(TASK, 0, LogStream.STDOUT, 0, "hi"),),
        attempt_ends=(AttemptEnd(TASK, 0, Status.SUCCEEDED),),
        task_statuses=(TaskStatusChange(TASK, Status.SUCCEEDED),),
        heartbeat=True,
        run_status=Status.SUCCEEDED,
    )
    assert batch.size == 9
    assert Batch("b-2", RUN).size == 0
    assert Batch("b-3", RUN, run_status="failed").run_status is Status.FAILED  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "items",
    [
        {"steps": (NewStep(Pathspec.parse("F/13/train")),)},
        {"tasks": (NewTask(Pathspec.parse("G/12/train/3")),)},
        {"metadata": (NewMetadata(Pathspec.parse("F/13"), "x", MetadataValue.int(1)),)},
        {"task_statuses": (TaskStatusChange(Pathspec.parse("F/1/train/3"), Status.FAILED),)},
    ],
)
def test_batch_refuses_items_of_another_run(items: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument, match="batch 'b' is for run F/12, but it holds a "):
        Batch("b", RUN, **items)


def test_batch_id_and_run_level() -> None:
    for bad in ("", "x" * 129, "a\nb"):
        with pytest.raises(InvalidArgument, match="batch_id must be 1 to 128"):
            Batch(bad, RUN)
    assert Batch("x" * 128, RUN).batch_id == "x" * 128
    with pytest.raises(InvalidPathspec, match="expected 'Flow/run_id'"):
        Batch("b", TASK)


# --- pages and filters ------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 50, 1000])
def test_page_limit_ok(limit: int) -> None:
    assert PageRequest(limit).limit == limit


@pytest.mark.parametrize("limit", [0, -1, 1001, 1.5, "10", None, True])
def test_page_limit_refused(limit: Any) -> None:
    with pytest.raises(InvalidArgument, match="page limit must be an integer from 1 to 1000"):
        PageRequest(limit)


def test_page_defaults_and_next_request() -> None:
    assert (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) == (100, 1000)
    assert PageRequest() == PageRequest(100, None)
    page = Page((1, 2, 3), "cursor-1")
    assert list(page) == [1, 2, 3]
    assert len(page) == 3
    assert page.next_request() == PageRequest(3, "cursor-1")
    assert page.next_request(10) == PageRequest(10, "cursor-1")
    assert Page((1,)).next_request() is None
    assert Page((), "c").next_request() == PageRequest(1, "c")


def test_run_filter_of() -> None:
    after = datetime(2024, 1, 1, tzinfo=UTC)
    f = RunFilter.of(
        "F", tags=["prod", "team:ml"], statuses=["running", Status.FAILED], user="alice",
        created_after=after,
    )  # fmt: skip
    assert f == RunFilter(
        "F",
        frozenset({"prod", "team:ml"}),
        frozenset({Status.RUNNING, Status.FAILED}),
        "alice",
        after,
        None,
    )
    assert all(isinstance(s, Status) for s in f.statuses)
    assert RunFilter.of() == RunFilter()
    assert RunFilter.of(tags=["user:alice"]).tags == frozenset({"user:alice"})


def test_run_filter_validates() -> None:
    with pytest.raises(InvalidPathspec, match="flow name"):
        RunFilter.of("my-flow")
    with pytest.raises(InvalidTag, match="control characters"):
        RunFilter.of(tags=["a\nb"])
    with pytest.raises(InvalidArgument, match="status must be one of"):
        RunFilter.of(statuses=["done"])
    with pytest.raises(InvalidTag, match="collection of tags"):
        RunFilter.of(tags="prod")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"parameters": {"model": object()}},
            r"parameters must be JSON-compatible \(no NaN or infinity\): 'model'",
        ),
        ({"parameters": {1: "x"}}, "string keys"),
        ({"origin_run_id": "a/b"}, "origin run id must be"),
        ({"user": ""}, "user must be 1 to 255"),
        (
            {"code_package": CodePackage("a" * 64, "flow.py", {"when": object()})},
            "code package info must be JSON-compatible",
        ),
    ],
)
def test_new_run_refuses_what_cannot_be_recorded(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        NewRun("F", **kwargs)


def test_new_run_keeps_json_parameters() -> None:
    params = {"alpha": 0.1, "layers": [64, 32], "name": "x", "flag": None}
    assert NewRun("F", parameters=params).parameters == params


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [1.0, float("-inf")]])
def test_new_run_parameters_are_strict_json(value: object) -> None:
    with pytest.raises(InvalidArgument, match="no NaN or infinity"):
        NewRun("F", parameters={"x": value})
