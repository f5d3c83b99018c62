"""Metadata entries, artifact index rows and log lines in SQL: append-mostly records of runs
and tasks, written many at a time on a connection whose transaction the caller owns."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from flowtrail.errors import AlreadyExists, InvalidArgument, NotFound
from flowtrail.model import (
    ArtifactRecord,
    Level,
    LogLine,
    LogStream,
    MetadataEntry,
    NewArtifact,
    NewLogLine,
    NewMetadata,
    Page,
    PageRequest,
    Pathspec,
    limits,
)
from flowtrail.store.sql import codec
from flowtrail.store.sql.dialects import bulk_insert, in_values
from flowtrail.store.sql.lookup import (
    Keys,
    checked_task_rows,
    listed,
    run_and_task_keys,
    run_keys,
    stored,
    task_keys,
    task_row,
    task_values,
)
from flowtrail.store.sql.paging import decode_cursor, page_of
from flowtrail.store.sql.reads import Reads
from flowtrail.store.sql.schema import (
    artifacts,
    flows,
    log_lines,
    metadata_entries,
    runs,
    steps,
    tasks,
)

__all__ = [
    "append_log_lines",
    "artifact_stmt",
    "artifacts_stmt",
    "find_artifacts",
    "find_metadata",
    "get_artifact",
    "latest_artifact_attempt_stmt",
    "log_lines_stmt",
    "metadata_stmt",
    "read_log_lines",
    "record_artifacts",
    "record_metadata",
    "task_metadata_stmt",
]

MAX_LOG_LINES = limits.MAX_LOG_LINES


# -- metadata ----------------------------------------------------------------------------


def record_metadata(keys: Keys, entries: Sequence[NewMetadata], now: datetime) -> None:
    """Append metadata entries to the run and its tasks."""
    if not entries:
        return
    rows = []
    for e in entries:
        task_pk = keys.task_pk(e.pathspec) if e.pathspec.level is Level.TASK else None
        rows.append(
            {
                "run_pk": keys.run_pk,
                "task_pk": task_pk,
                "attempt": e.attempt,
                "field_name": e.field_name,
                "type": e.type,
                "value_type": str(e.value.type),
                "value_text": e.value.to_text(),
                "value_num": e.value.to_number(),
                "created_at": e.created_at or now,
            }
        )
    bulk_insert(keys.conn, metadata_entries, rows)


#: The columns :func:`~flowtrail.store.sql.codec.metadata_from_row` reads, as stored.
_METADATA_COLUMNS = (
    metadata_entries.c.pk,
    metadata_entries.c.attempt,
    metadata_entries.c.field_name,
    metadata_entries.c.type,
    metadata_entries.c.value_type,
    metadata_entries.c.value_text,
    sa.type_coerce(metadata_entries.c.created_at, sa.BigInteger()).label("created_at"),
)


def _narrowed(stmt: Any, by_attempt: bool, by_field: bool, after: bool) -> Any:
    m = metadata_entries.c
    if by_attempt:
        stmt = stmt.where(m.attempt == sa.bindparam("attempt"))
    if by_field:
        stmt = stmt.where(m.field_name == sa.bindparam("field_name"))
    if after:
        stmt = stmt.where(m.pk > sa.bindparam("after"))
    return stmt.order_by(m.pk).limit(sa.bindparam("limit", type_=sa.Integer()))


@functools.cache
def _metadata_select(on_task: bool, by_attempt: bool, by_field: bool, after: bool) -> Any:
    """One shape of ``find_metadata``'s statement by keys, built once, with bind
    parameters."""
    m = metadata_entries.c
    stmt = sa.select(*_METADATA_COLUMNS).where(
        m.run_pk == sa.bindparam("run_pk"),
        m.task_pk == sa.bindparam("task_pk") if on_task else m.task_pk.is_(None),
    )
    return _narrowed(stmt, by_attempt, by_field, after)


@functools.cache
def _task_metadata_select(by_attempt: bool, by_field: bool, after: bool) -> Any:
    """One shape of ``find_metadata``'s statement for a task named by its pathspec: its run
    and the task are found in the same statement (the flow's name, the runs' ``(flow_pk,
    run_id)``, the tasks' ``(run_pk, task_id)``), then its entries on ``metadata_entries
    (run_pk, task_pk, pk)``, in key order."""
    m = metadata_entries.c
    stmt = (
        sa.select(*_METADATA_COLUMNS)
        .select_from(
            metadata_entries.join(tasks, tasks.c.pk == m.task_pk)
            .join(steps, steps.c.pk == tasks.c.step_pk)
            .join(runs, runs.c.pk == tasks.c.run_pk)
            .join(flows, flows.c.pk == runs.c.flow_pk)
        )
        .where(
            flows.c.name == sa.bindparam("flow"),
            runs.c.run_id == sa.bindparam("run_id"),
            tasks.c.task_id == sa.bindparam("task_id"),
            steps.c.name == sa.bindparam("step"),
            m.run_pk == runs.c.pk,
        )
    )
    return _narrowed(stmt, by_attempt, by_field, after)


def _metadata_query(
    run_pk: int,
    task_pk: int | None,
    limit: int,
    after: int | None,
    attempt: int | None,
    field_name: str | None,
) -> tuple[Any, dict[str, Any]]:
    values = {
        "run_pk": run_pk,
        "task_pk": task_pk,
        "attempt": attempt,
        "field_name": field_name,
        "after": after,
        "limit": limit,
    }
    stmt = _metadata_select(
        task_pk is not None, attempt is not None, field_name is not None, after is not None
    )
    return stmt, {key: value for key, value in values.items() if value is not None}


def metadata_stmt(
    keys: Keys,
    target: Pathspec,
    *,
    limit: int,
    after: int | None,
    attempt: int | None = None,
    field_name: str | None = None,
) -> Any:
    """The statement behind ``find_metadata``, on ``metadata_entries (run_pk, task_pk, pk)``,
    with its values bound (for plans)."""
    task_pk = keys.task_pk(target) if target.level is Level.TASK else None
    stmt, values = _metadata_query(keys.run_pk, task_pk, limit, after, attempt, field_name)
    return stmt.params(values)


def task_metadata_stmt(task: Pathspec, *, limit: int) -> Any:
    """The statement behind ``find_metadata`` of a task, with its values bound (for
    plans)."""
    return _task_metadata_select(False, False, False).params(
        task_values(task, step=task.step, limit=limit)
    )


def find_metadata(
    reads: Reads,
    target: Pathspec,
    page: PageRequest,
    attempt: int | None,
    field_name: str | None,
) -> Page[MetadataEntry]:
    """The metadata of the run or of one task, oldest first: a task's in one statement (its
    keys are looked up on their own only when it has none, to say whether it exists), a
    run's by its keys.

    Raises:
        NotFound: no such run, or no such task in that step.
        InvalidArgument: ``target`` is neither a run nor a task.
    """
    after = decode_cursor("metadata", page.cursor, (int,))
    values: dict[str, Any] = {
        "attempt": attempt,
        "field_name": field_name,
        "after": after[0] if after else None,
        "limit": page.limit + 1,
    }
    narrowing = (attempt is not None, field_name is not None, after is not None)
    if target.level is Level.TASK:
        stmt = _task_metadata_select(*narrowing)
        rows = reads.all(stmt, task_values(target, step=target.step, **values))
        if not rows:
            task_keys(reads, target)  # raises when there is no such task
    else:
        if target.task_id is not None:
            task_keys(reads, target.truncate(Level.TASK))
        run_pk = run_keys(reads, target.truncate(Level.RUN))[0]
        if target.level is not Level.RUN:
            raise InvalidArgument(
                f"metadata belongs to a run ('Flow/run_id') or a task "
                f"('Flow/run_id/step/task_id'), got {str(target)!r}"
            )
        stmt, bound = _metadata_query(
            run_pk, None, page.limit + 1, values["after"], attempt, field_name
        )
        rows = reads.all(stmt, bound)
    times: dict[int, datetime] = {}
    return page_of(
        "metadata",
        rows,
        page.limit,
        lambda r: [r[0]],
        lambda r: codec.metadata_from_row(r, target, times),
    )


# -- artifacts ---------------------------------------------------------------------------


def record_artifacts(keys: Keys, new: Sequence[NewArtifact], now: datetime) -> None:
    """Index artifacts; an identical row is skipped, a different sha is ``AlreadyExists``.

    The rows of tasks that existed before this transaction go in with "insert unless
    present", then are compared with what is recorded: a concurrent writer of the same rows
    is harmless, one of other contents is refused. The rows of tasks created in this
    transaction are plain inserts (the fastest kind on PostgreSQL): no other writer can
    see those tasks yet, so none has rows to clash with.
    """
    if not new:
        return
    rows: dict[tuple[int, str, int], dict[str, Any]] = {}
    specs: dict[tuple[int, str, int], Pathspec] = {}
    for a in new:
        task_pk = keys.task_pk(a.pathspec.truncate(Level.TASK))
        key = (task_pk, a.pathspec.artifact or "", a.attempt)
        if key in rows and rows[key]["sha"] != a.sha:
            raise AlreadyExists(f"artifact {a.pathspec} appears twice with different contents")
        specs[key] = a.pathspec
        rows[key] = {
            "task_pk": task_pk,
            "run_pk": keys.run_pk,
            "attempt": a.attempt,
            "name": a.pathspec.artifact,
            "sha": a.sha,
            "size": a.size,
            "python_type": a.python_type,
            "encoding": a.encoding,
            "created_at": a.created_at or now,
            **codec.scalar_columns(a.value),
        }
    created = keys.created_tasks
    bulk_insert(keys.conn, artifacts, [r for k, r in rows.items() if k[0] in created])
    bulk_insert(
        keys.conn, artifacts, [r for k, r in rows.items() if k[0] not in created], ignore=True
    )
    # Tasks created in this transaction have no other rows; the others are checked through
    # the (task_pk, name, attempt) index.
    known = sorted({key[0] for key in rows} - created)
    if not known:
        return
    for r in keys.conn.execute(
        sa.select(
            artifacts.c.task_pk, artifacts.c.name, artifacts.c.attempt, artifacts.c.sha
        ).where(in_values(keys.conn, artifacts.c.task_pk, known))
    ):
        key = (r.task_pk, r.name, r.attempt)
        if key in rows and rows[key]["sha"] != r.sha:
            raise AlreadyExists(
                f"artifact {specs[key]} (attempt {r.attempt}) is recorded already with sha "
                f"{r.sha}; an attempt's artifact is never rewritten",
                details={"pathspec": str(specs[key]), "attempt": r.attempt},
            )


def _artifact_columns() -> list[Any]:
    """An artifact's columns as stored (:func:`~flowtrail.store.sql.codec.
    artifact_from_row`)."""
    a = artifacts.c
    return [
        a.name,
        a.attempt,
        a.sha,
        a.size,
        a.python_type,
        a.encoding,
        stored(a.created_at, sa.BigInteger()),
        a.value_type,
        a.value_text,
    ]


@functools.cache
def _artifacts_by_path(after: bool) -> Any:
    """One shape of the statement that reads a page of one attempt's artifacts by their
    task's pathspec, on ``artifacts (task_pk, name, attempt)``: the keys of its run and task,
    then the artifacts by name (``NULL``s when there is none)."""
    a = artifacts.c
    on = sa.and_(a.task_pk == tasks.c.pk, a.attempt == sa.bindparam("attempt"))
    if after:
        on = sa.and_(on, a.name > sa.bindparam("after"))
    stmt = run_and_task_keys(*_artifact_columns(), outer=[(artifacts, on)])
    return stmt.order_by(a.name).limit(sa.bindparam("limit", type_=sa.Integer()))


#: A task's keys and the latest attempt that recorded artifacts (``NULL`` when none did),
#: read once: in the join condition of the page, SQLite would read it again for each row.
_LATEST_ARTIFACT_ATTEMPT = run_and_task_keys(
    sa.select(sa.func.max(artifacts.c.attempt))
    .where(artifacts.c.task_pk == tasks.c.pk)
    .scalar_subquery()
    .label("latest_attempt")
)


def artifacts_stmt(task: Pathspec, *, attempt: int, limit: int, after: str | None) -> Any:
    """The statement of :func:`find_artifacts` with its values in it (for plans)."""
    stmt = _artifacts_by_path(after is not None)
    return stmt.params(task_values(task, attempt=attempt, limit=limit, after=after))


def latest_artifact_attempt_stmt(task: Pathspec) -> Any:
    """The statement that finds the latest attempt of a task that recorded artifacts, with
    its values in it (for plans)."""
    return _LATEST_ARTIFACT_ATTEMPT.params(task_values(task))


def find_artifacts(
    reads: Reads, task: Pathspec, page: PageRequest, attempt: int | None
) -> Page[ArtifactRecord]:
    """A task's artifacts by name, for one attempt or the latest that recorded any, in one
    statement.

    The cursor carries the attempt chosen for the first page, so that an attempt recorded
    meanwhile does not change which attempt the later pages list.

    Raises:
        NotFound: no such run or task.
    """
    after = decode_cursor("artifacts", page.cursor, (int, str))
    if after is not None:
        attempt = after[0]
    elif attempt is None:
        # The latest attempt that recorded any (0 when none did): a statement of its own.
        latest = task_row(reads, task, _LATEST_ARTIFACT_ATTEMPT)[4]
        attempt = 0 if latest is None else int(latest)
    stmt = _artifacts_by_path(after is not None)
    values = task_values(
        task, attempt=attempt, limit=page.limit + 1, after=after[1] if after else None
    )
    rows = checked_task_rows(reads, task, reads.all(stmt, values))
    return page_of(
        "artifacts",
        listed(rows, 4),
        page.limit,
        lambda r: [r[5], r[4]],
        lambda r: codec.artifact_from_row(r[4:], task),
    )


@functools.cache
def _artifact_by_path(by_attempt: bool) -> Any:
    """The statement that reads one artifact by its pathspec: of attempt ``attempt``, or of
    the latest attempt that recorded it (``artifacts (task_pk, name, attempt)``)."""
    a = artifacts.c
    on = sa.and_(a.task_pk == tasks.c.pk, a.name == sa.bindparam("name"))
    if by_attempt:
        on = sa.and_(on, a.attempt == sa.bindparam("attempt"))
    stmt = run_and_task_keys(*_artifact_columns(), outer=[(artifacts, on)])
    return stmt.order_by(a.attempt.desc()).limit(1)


def artifact_stmt(artifact: Pathspec, attempt: int | None) -> Any:
    """The statement of :func:`get_artifact` with its values in it (for plans)."""
    values = task_values(artifact.truncate(Level.TASK), name=artifact.artifact, attempt=attempt)
    return _artifact_by_path(attempt is not None).params(values)


def get_artifact(reads: Reads, artifact: Pathspec, attempt: int | None) -> ArtifactRecord:
    """One artifact, of an attempt or of the latest attempt that recorded it, in one
    statement.

    Raises:
        NotFound: no such run, task or artifact (in that attempt).
    """
    task = artifact.expect(Level.ARTIFACT).truncate(Level.TASK)
    stmt = _artifact_by_path(attempt is not None)
    row = task_row(reads, task, stmt, name=artifact.artifact, attempt=attempt)
    if row[4] is None:
        which = f" in attempt {attempt}" if attempt is not None else ""
        raise NotFound(
            f"artifact {str(artifact)!r} does not exist{which}",
            details={"pathspec": str(artifact)},
        )
    return codec.artifact_from_row(row[4:], task)


# -- logs --------------------------------------------------------------------------------


def append_log_lines(keys: Keys, lines: Sequence[NewLogLine], now: datetime) -> None:
    """Append log lines, skipping any whose (task, attempt, stream, seq) is recorded (or
    came earlier in ``lines``).

    As with artifacts, the lines of tasks created in this transaction are plain inserts.
    """
    if not lines:
        return
    rows: dict[tuple[int, int, str, int], dict[str, Any]] = {}
    for line in lines:
        task_pk = keys.task_pk(line.pathspec)
        stream = str(line.stream)
        rows.setdefault(
            (task_pk, line.attempt, stream, line.seq),
            {
                "task_pk": task_pk,
                "attempt": line.attempt,
                "stream": stream,
                "seq": line.seq,
                "created_at": line.created_at or now,
                "text": line.text,
            },
        )
    created = keys.created_tasks
    bulk_insert(keys.conn, log_lines, [r for k, r in rows.items() if k[0] in created])
    bulk_insert(
        keys.conn, log_lines, [r for k, r in rows.items() if k[0] not in created], ignore=True
    )


_LOG_LINES_BY_PATH = (
    run_and_task_keys(
        log_lines.c.seq,
        stored(log_lines.c.created_at, sa.BigInteger()),
        log_lines.c.text,
        outer=[
            (
                log_lines,
                sa.and_(
                    log_lines.c.task_pk == tasks.c.pk,
                    log_lines.c.attempt == sa.bindparam("attempt"),
                    log_lines.c.stream == sa.bindparam("stream"),
                    log_lines.c.seq >= sa.bindparam("offset"),
                ),
            )
        ],
    )
    .order_by(log_lines.c.seq)
    .limit(sa.bindparam("limit", type_=sa.Integer()))
)


def log_lines_stmt(task: Pathspec, attempt: int, stream: LogStream, offset: int, limit: int) -> Any:
    """The statement of :func:`read_log_lines` with its values in it (for plans)."""
    values = task_values(task, attempt=attempt, stream=str(stream), offset=offset, limit=limit)
    return _LOG_LINES_BY_PATH.params(values)


def read_log_lines(
    reads: Reads, task: Pathspec, attempt: int, stream: LogStream, offset: int, limit: int
) -> list[LogLine]:
    """Up to ``limit`` lines of one stream from ``seq >= offset``, in order, in one statement
    (on ``log_lines (task_pk, attempt, stream, seq)``).

    Raises:
        NotFound: no such run or task.
    """
    limits.check_log_limit(limit)
    limits.check_int("offset", offset)
    limits.check_attempt(attempt)
    stream = LogStream(stream)
    values = task_values(task, attempt=attempt, stream=str(stream), offset=offset, limit=limit)
    rows = checked_task_rows(reads, task, reads.all(_LOG_LINES_BY_PATH, values))
    return [codec.log_line_from_row(r[4:], task, attempt, stream) for r in listed(rows, 4)]
