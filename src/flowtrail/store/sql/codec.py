"""Conversions between records of :mod:`flowtrail.model` and the JSON columns and rows of
the SQL schema."""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from flowtrail.model import (
    ArtifactRecord,
    AttemptRecord,
    CodePackage,
    ExceptionInfo,
    ForeachFrame,
    LogLine,
    LogStream,
    MetadataEntry,
    MetadataValue,
    Pathspec,
    RunRecord,
    Scalar,
    Status,
    StepKind,
    StepRecord,
    TaskRecord,
    TriggerEvent,
    from_epoch_ms,
    to_epoch_ms,
)
from flowtrail.store.sql.dialects import load_json
from flowtrail.store.sql.lookup import RECORD_FIELDS, RECORD_WIDTH, TAG_SEPARATOR

__all__ = [
    "artifact_from_row",
    "attempt_from_row",
    "dump_code",
    "dump_exception",
    "dump_foreach",
    "dump_metadata_map",
    "dump_trigger",
    "encode_tag_list",
    "load_metadata_map",
    "log_line_from_row",
    "metadata_from_row",
    "param_rows",
    "runs_from_rows",
    "scalar_columns",
    "split_tags",
    "step_from_row",
    "stored_json",
    "stored_json_column",
    "task_from_row",
]


def dump_metadata_map(values: Mapping[str, MetadataValue]) -> dict[str, Any]:
    """``{"loss": MetadataValue.float(0.5)}`` to ``{"loss": {"type": "float", "text": "0.5"}}``.

    Values are kept in their text form, so that a NaN or infinite float (not JSON, and
    refused by PostgreSQL's jsonb) is stored the same way on every database.
    """
    return {name: {"type": str(v.type), "text": v.to_text()} for name, v in values.items()}


def load_metadata_map(data: Mapping[str, Any] | None) -> dict[str, MetadataValue]:
    """The inverse of :func:`dump_metadata_map`."""
    return {
        name: MetadataValue.from_stored(v["type"], v["text"]) for name, v in (data or {}).items()
    }


def dump_trigger(events: Sequence[TriggerEvent]) -> list[dict[str, Any]]:
    """Trigger events as JSON, timestamps in epoch milliseconds."""
    return [
        {"name": e.name, "id": e.id, "type": e.type, "timestamp": to_epoch_ms(e.timestamp)}
        for e in events
    ]


def _load_trigger(data: Sequence[Mapping[str, Any]] | None) -> tuple[TriggerEvent, ...]:
    return tuple(
        TriggerEvent(
            name=e["name"], id=e["id"], type=e["type"], timestamp=from_epoch_ms(e["timestamp"])
        )
        for e in data or ()
    )


def dump_code(package: CodePackage | None) -> dict[str, Any] | None:
    """A code package as JSON."""
    if package is None:
        return None
    return {"sha": package.sha, "script_name": package.script_name, "info": dict(package.info)}


def _load_code(data: Mapping[str, Any] | None) -> CodePackage | None:
    if not data:
        return None
    return CodePackage(data["sha"], data["script_name"], data["info"])


def dump_foreach(frames: Sequence[ForeachFrame]) -> list[dict[str, Any]]:
    """A foreach stack as JSON."""
    return [{"step": f.step, "index": f.index, "num_splits": f.num_splits} for f in frames]


def dump_exception(info: ExceptionInfo | None) -> dict[str, str] | None:
    """An attempt's exception as JSON."""
    if info is None:
        return None
    return {"type": info.type, "message": info.message, "traceback": info.traceback}


def scalar_columns(value: Scalar | None) -> dict[str, Any]:
    """The ``value_type``, ``value_text`` and ``value_num`` columns of an artifact value."""
    if value is None:
        return {"value_type": None, "value_text": None, "value_num": None}
    if isinstance(value, bool):
        return {"value_type": "bool", "value_text": str(value).lower(), "value_num": float(value)}
    if isinstance(value, int):
        return {"value_type": "int", "value_text": str(value), "value_num": float(value)}
    if isinstance(value, float):
        number = None if value != value else value  # NaN cannot be compared: no number
        return {"value_type": "float", "value_text": repr(value), "value_num": number}
    return {"value_type": "str", "value_text": value, "value_num": None}


#: Parameters with longer names are not kept for search (the column holds 255 characters).
MAX_PARAM_NAME = 255


def param_rows(run_pk: int, flow_pk: int, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``run_params`` rows of a run: one per top-level parameter that is a string, a
    number or a boolean, with the columns of :func:`scalar_columns` (a number too big for a
    float keeps only its text). Lists, dicts and ``None`` are not searchable."""
    rows = []
    for name, value in parameters.items():
        if len(name) > MAX_PARAM_NAME or not isinstance(value, int | float | str):
            continue
        try:
            columns = scalar_columns(value)
        except OverflowError:  # an int beyond the float range
            columns = {"value_type": "int", "value_text": str(value), "value_num": None}
        rows.append({"run_pk": run_pk, "name": name, "flow_pk": flow_pk, **columns})
    return rows


def _scalar_from(value_type: str | None, text: str | None) -> Scalar | None:
    if value_type is None or text is None:
        return None
    if value_type == "bool":
        return text == "true"
    if value_type == "int":
        return int(text)
    if value_type == "float":
        return float(text)
    return text


def encode_tag_list(user: Iterable[str], system: Iterable[str]) -> str:
    """A run's ``tag_list`` column: each tag prefixed ``u`` (user) or ``s`` (system), in tag
    order, joined by :data:`~flowtrail.store.sql.lookup.TAG_SEPARATOR`."""
    items = sorted([(tag, "u") for tag in user] + [(tag, "s") for tag in system])
    return TAG_SEPARATOR.join(kind + tag for tag, kind in items)


@functools.lru_cache(maxsize=4096)
def split_tags(tag_list: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """The user tags and system tags of a run's ``tag_list`` column (see
    :func:`encode_tag_list`). Memoized: runs of one user, team and purpose share their tag
    lists, and the sets are immutable."""
    if not tag_list:
        return frozenset(), frozenset()
    user: list[str] = []
    system: list[str] = []
    for item in tag_list.split(TAG_SEPARATOR):
        (system if item[0] == "s" else user).append(item[1:])
    return frozenset(user), frozenset(system)


_STATUSES = {str(status): status for status in Status}
_PARAMETERS = RECORD_FIELDS.index("parameters")
_CODE_PACKAGE = RECORD_FIELDS.index("code_package")


def _slot_setters(cls: type) -> Any:
    """The ``__set__`` of each slot of a frozen record class, by field name: a record set
    through them costs a third of its ``__init__`` (a call of ``object.__setattr__`` per
    field). Only for a class without ``__post_init__``, which setting them would skip."""
    assert not hasattr(cls, "__post_init__"), cls
    names = [f.name for f in dataclasses.fields(cls)]
    slots = collections.namedtuple(f"{cls.__name__}Slots", names)  # type: ignore[misc]
    return slots(*(getattr(cls, name).__set__ for name in names))


_RUN_SLOTS = _slot_setters(RunRecord)
_ENTRY_SLOTS = _slot_setters(MetadataEntry)


@functools.lru_cache(maxsize=64)
def _timeout(ms: int) -> timedelta:
    return timedelta(milliseconds=ms)


def stored_json(value: Any) -> Any:
    """A JSON column read as stored: text on SQLite, decoded already by PostgreSQL's
    driver. For the columns of a run's record, whose top-level value is never a JSON
    string."""
    return load_json(value) if isinstance(value, str) else value


def stored_json_column(values: Sequence[Any]) -> list[Any]:
    """:func:`stored_json` of each value of one column of a page of rows. JSON texts (a SQL
    ``NULL`` read as JSON ``null``) are decoded as one array, in one call of the decoder:
    for a page of small documents that is a third of the time of a call each. Should the
    array not decode into one value per text, each is decoded on its own (and a bad one
    raises as it would alone)."""
    texts = ["null" if value is None else value for value in values]
    if len(texts) < 2 or not all(type(text) is str for text in texts):
        return [stored_json(value) for value in values]
    try:
        decoded = load_json("[" + ",".join(texts) + "]")
    except ValueError:
        decoded = None
    if not isinstance(decoded, list) or len(decoded) != len(texts):
        return [stored_json(value) for value in values]
    return decoded


def runs_from_rows(rows: Sequence[Sequence[Any]]) -> list[RunRecord]:
    """Rows of :func:`~flowtrail.store.sql.lookup.record_columns` (a ``runs`` row as stored,
    its flow's name and its tags, maybe followed by sort values) to :class:`RunRecord`
    objects: the parameters and code packages of the page decoded a column at a time, then
    each row in one pass over its values (a page of runs is mostly this: every call
    counts)."""
    parameters = stored_json_column([row[_PARAMETERS] for row in rows])
    packages = stored_json_column([row[_CODE_PACKAGE] for row in rows])
    return [
        _run_from_row(row, params, package)
        for row, params, package in zip(rows, parameters, packages, strict=True)
    ]


def _run_from_row(row: Sequence[Any], parameters: Any, code_package: Any) -> RunRecord:
    (
        _pk,
        _flow_pk,
        run_id,
        run_number,
        status,
        created,
        finished,
        heartbeat,
        timeout_ms,
        user,
        _parameters,
        origin_run_id,
        trigger,
        _code_package,
        flow_metadata,
        flow_name,
        tag_list,
    ) = row[:RECORD_WIDTH]
    user_tags, system_tags = split_tags(tag_list)
    # The record's slots set through their descriptors (see _slot_setters).
    slots = _RUN_SLOTS
    record = object.__new__(RunRecord)
    # Both components were validated when the run was written: not again for each read.
    slots.pathspec(record, Pathspec._trusted((flow_name, run_id)))
    slots.status(record, _STATUSES[status])
    slots.created_at(record, from_epoch_ms(created))
    slots.finished_at(record, None if finished is None else from_epoch_ms(finished))
    slots.heartbeat_at(record, from_epoch_ms(heartbeat))
    slots.heartbeat_timeout(record, _timeout(timeout_ms))
    slots.run_number(record, run_number)
    slots.user(record, user)
    slots.parameters(record, parameters)
    slots.origin_run_id(record, origin_run_id)
    slots.trigger(record, () if trigger == "[]" else _load_trigger(stored_json(trigger)))
    slots.code_package(record, _load_code(code_package))
    slots.user_tags(record, user_tags)
    slots.system_tags(record, system_tags)
    slots.flow_metadata(
        record,
        {} if flow_metadata == "{}" else load_metadata_map(stored_json(flow_metadata)),
    )
    return record


def step_from_row(row: Sequence[Any], run: Pathspec) -> StepRecord:
    """A row of a step's columns as stored (``tasks._step_columns``: its key, name, kind,
    next steps as JSON, creation and latest task end in epoch ms) to a :class:`StepRecord`."""
    _pk, name, kind, next_steps, created, finished = row
    return StepRecord(
        pathspec=Pathspec._trusted((*run.components, name)),
        kind=StepKind(kind),
        created_at=from_epoch_ms(created),
        next_steps=tuple(stored_json(next_steps)),
        finished_at=None if finished is None else from_epoch_ms(finished),
    )


def task_from_row(row: Sequence[Any], run: Pathspec) -> TaskRecord:
    """A row of a task's columns as stored (``tasks._task_columns``: its key, id, status,
    times in epoch ms, JSON columns, origin, step name, latest attempt) to a
    :class:`TaskRecord`, in one pass over the row's values."""
    _pk, task_id, status, created, finished, foreach, parents, origin, step_name, latest = row
    return TaskRecord(
        # The components were validated when the task was written: not again for each read.
        pathspec=Pathspec._trusted((*run.components, step_name, task_id)),
        status=_STATUSES[status],
        created_at=from_epoch_ms(created),
        finished_at=None if finished is None else from_epoch_ms(finished),
        foreach_stack=()
        if foreach == "[]"
        else tuple(
            ForeachFrame(f["step"], f["index"], f["num_splits"]) for f in stored_json(foreach)
        ),
        # Parents and origin were pathspecs when the task was written: split, not parsed.
        parent_tasks=tuple(Pathspec._trusted(tuple(p.split("/"))) for p in stored_json(parents)),
        origin_pathspec=Pathspec._trusted(tuple(origin.split("/"))) if origin else None,
        latest_attempt=latest,
    )


def attempt_from_row(row: Sequence[Any], task: Pathspec) -> AttemptRecord:
    """A row of an attempt's columns as stored (``tasks._attempt_columns``: number, status,
    start and end in epoch ms, host, pid, exception as JSON) to an :class:`AttemptRecord`."""
    number, status, started, finished, host, pid, exception = row
    exc = stored_json(exception)
    return AttemptRecord(
        pathspec=task,
        number=number,
        status=_STATUSES[status],
        started_at=from_epoch_ms(started),
        finished_at=None if finished is None else from_epoch_ms(finished),
        host=host,
        pid=pid,
        exception=ExceptionInfo(exc["type"], exc["message"], exc["traceback"]) if exc else None,
    )


def metadata_from_row(
    row: Sequence[Any], target: Pathspec, times: dict[int, datetime] | None = None
) -> MetadataEntry:
    """A row of ``find_metadata``'s statement (``pk``, ``attempt``, ``field_name``,
    ``type``, ``value_type``, ``value_text``, ``created_at`` in epoch ms, as stored) to a
    :class:`MetadataEntry`, in one pass over the row's values. ``times`` keeps the times
    converted for the other rows of a page: an attempt records its entries at once."""
    _pk, attempt, field_name, kind, value_type, value_text, created_ms = row
    created = None if times is None else times.get(created_ms)
    if created is None:
        created = from_epoch_ms(created_ms)
        if times is not None:
            times[created_ms] = created
    slots = _ENTRY_SLOTS  # see _slot_setters
    entry = object.__new__(MetadataEntry)
    slots.pathspec(entry, target)
    slots.field_name(entry, field_name)
    slots.value(entry, MetadataValue.from_stored(value_type, value_text))
    slots.type(entry, kind)
    slots.created_at(entry, created)
    slots.attempt(entry, attempt)
    return entry


def artifact_from_row(row: Sequence[Any], task: Pathspec) -> ArtifactRecord:
    """A row of an artifact's columns as stored (``records._artifact_columns``: name,
    attempt, sha, size, Python type, encoding, creation in epoch ms, scalar type and text)
    to an :class:`ArtifactRecord`."""
    name, attempt, sha, size, python_type, encoding, created, value_type, value_text = row
    return ArtifactRecord(
        pathspec=Pathspec._trusted((*task.components, name)),
        attempt=attempt,
        sha=sha,
        size=size,
        python_type=python_type,
        encoding=encoding,
        created_at=from_epoch_ms(created),
        value=_scalar_from(value_type, value_text),
    )


def log_line_from_row(
    row: Sequence[Any], task: Pathspec, attempt: int, stream: LogStream
) -> LogLine:
    """A row of a log line's columns as stored (``seq``, creation in epoch ms, ``text``) of
    one attempt's stream to a :class:`LogLine`."""
    seq, created, text = row
    return LogLine(
        pathspec=task,
        attempt=attempt,
        stream=stream,
        seq=seq,
        created_at=from_epoch_ms(created),
        text=text,
    )
