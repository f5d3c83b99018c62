"""Steps, tasks and attempts in SQL. Writes take many items at once (a batch carries many),
resolve keys through :class:`~flowtrail.store.sql.lookup.Keys`, and run on a connection
whose transaction the caller owns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from flowtrail.errors import AlreadyExists, NotFound
from flowtrail.model import (
    AttemptEnd,
    AttemptRecord,
    Level,
    NewAttempt,
    NewStep,
    NewTask,
    Page,
    PageRequest,
    Pathspec,
    Status,
    StepRecord,
    TaskRecord,
    TaskStatusChange,
    check_transition,
)
from flowtrail.store.sql import codec
from flowtrail.store.sql.dialects import bulk_insert, bulk_update, in_values, insert_returning
from flowtrail.store.sql.lookup import Keys, run_and_task_keys, stored, task_row
from flowtrail.store.sql.paging import decode_cursor, page_of
from flowtrail.store.sql.reads import Reads
from flowtrail.store.sql.schema import attempts, steps, task_edges, tasks

__all__ = [
    "attempts_of_tasks_stmt",
    "create_steps",
    "create_tasks",
    "end_attempts",
    "find_attempts",
    "find_child_tasks",
    "find_steps",
    "find_tasks",
    "find_tasks_stmt",
    "get_attempt",
    "get_step",
    "get_task",
    "read_task",
    "read_task_stmt",
    "set_task_statuses",
    "start_attempts",
]


def _check_unique(kind: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise AlreadyExists(f"{kind} {name!r} appears twice in one write")
        seen.add(name)


# -- steps -------------------------------------------------------------------------------


def create_steps(keys: Keys, new: Sequence[NewStep], now: datetime) -> None:
    """Insert steps of the run; ``AlreadyExists`` when one is there."""
    if not new:
        return
    _check_unique("step", [str(s.pathspec) for s in new])
    names = [s.pathspec.step for s in new]
    existing = keys.conn.execute(
        sa.select(steps.c.name).where(steps.c.run_pk == keys.run_pk, steps.c.name.in_(names))
    ).scalar()
    if existing is not None:
        raise AlreadyExists(
            f"step {keys.run}/{existing} exists already",
            details={"pathspec": f"{keys.run}/{existing}"},
        )
    created = keys.conn.execute(
        sa.insert(steps).returning(steps.c.pk, steps.c.name, sort_by_parameter_order=True),
        [
            {
                "run_pk": keys.run_pk,
                "name": s.pathspec.step,
                "kind": str(s.kind),
                "next_steps": list(s.next_steps),
                "created_at": s.created_at or now,
            }
            for s in new
        ],
    )
    for row in created:
        keys.remember_step(row.name, int(row.pk))


def _select_steps() -> sa.Select[Any]:
    """Steps with ``finished_at``, the latest of their tasks' (on ``tasks (step_pk, pk)``)."""
    finished = (
        sa.select(sa.func.max(tasks.c.finished_at))
        .where(tasks.c.step_pk == steps.c.pk)
        .scalar_subquery()
    )
    return sa.select(steps, finished.label("finished_at"))


def get_step(keys: Keys, step: Pathspec) -> StepRecord:
    """The step ``Flow/run_id/step``."""
    row = keys.conn.execute(_select_steps().where(steps.c.pk == keys.step_pk(step))).one()
    return codec.step_from_row(row, keys.run)


def find_steps(keys: Keys, page: PageRequest) -> Page[StepRecord]:
    """The steps of the run, newest first."""
    after = decode_cursor("steps", page.cursor, (int,))
    stmt = _select_steps().where(steps.c.run_pk == keys.run_pk)
    if after is not None:
        stmt = stmt.where(steps.c.pk < after[0])
    rows = keys.conn.execute(stmt.order_by(steps.c.pk.desc()).limit(page.limit + 1)).all()
    return page_of(
        "steps", rows, page.limit, lambda r: [r.pk], lambda r: codec.step_from_row(r, keys.run)
    )


# -- tasks -------------------------------------------------------------------------------


def create_tasks(
    keys: Keys,
    new: Sequence[NewTask],
    now: datetime,
    final: Mapping[Pathspec, tuple[Status, datetime | None]] | None = None,
) -> None:
    """Insert tasks (their steps must exist) and their parent edges.

    ``final`` gives some of them the status and finish time that status changes later in
    the same transaction would set (checked already): they are inserted that way.
    """
    if not new:
        return
    _check_unique("task", [t.pathspec.task_id or "" for t in new])
    ids = [t.pathspec.task_id for t in new]
    existing = keys.conn.execute(
        sa.select(tasks.c.task_id).where(
            tasks.c.run_pk == keys.run_pk, in_values(keys.conn, tasks.c.task_id, ids)
        )
    ).scalar()
    if existing is not None:
        raise AlreadyExists(
            f"run {keys.run} has a task {existing!r} already (task ids are unique in a run)",
            details={"pathspec": str(keys.run), "task_id": existing},
        )
    final = final or {}
    rows = []
    for t in new:
        status, finished_at = final.get(
            t.pathspec, (t.status, (t.created_at or now) if t.status.finished else None)
        )
        rows.append(
            {
                "run_pk": keys.run_pk,
                "step_pk": keys.step_pk(t.pathspec.truncate(Level.STEP)),
                "task_id": t.pathspec.task_id,
                "status": str(status),
                "created_at": t.created_at or now,
                "finished_at": finished_at,
                "foreach_stack": codec.dump_foreach(t.foreach_stack),
                "parent_tasks": [str(p) for p in t.parent_tasks],
                "origin_pathspec": str(t.origin_pathspec) if t.origin_pathspec else None,
            }
        )
    created = insert_returning(keys.conn, tasks, rows, ("pk", "task_id"))
    step_of = {t.pathspec.task_id: t.pathspec.step or "" for t in new}
    for row in created:
        keys.remember_task(row.task_id, int(row.pk), step_of[row.task_id])
    edges = [
        {
            "run_pk": keys.run_pk,
            "parent_task_id": parent.task_id,
            "child_pk": keys.task_pk(t.pathspec),
        }
        for t in new
        for parent in dict.fromkeys(t.parent_tasks)
    ]
    if edges:
        bulk_insert(keys.conn, task_edges, edges)


def _latest_attempt() -> Any:
    # The latest attempt's number comes with the task, on the attempts' key (task_pk,
    # number): a reader of the task's current attempt needs no read of its own.
    return (
        sa.select(sa.func.max(attempts.c.number))
        .where(attempts.c.task_pk == tasks.c.pk)
        .scalar_subquery()
        .label("latest_attempt")
    )


def _task_columns() -> list[Any]:
    """The columns a task's record is built from (:func:`~flowtrail.store.sql.codec.
    task_from_row`), as stored, with its step's name and its latest attempt."""
    c = tasks.c
    number, text = sa.BigInteger(), sa.Text()
    return [
        c.pk,
        c.task_id,
        c.status,
        stored(c.created_at, number),
        stored(c.finished_at, number),
        stored(c.foreach_stack, text),
        stored(c.parent_tasks, text),
        c.origin_pathspec,
        steps.c.name.label("step_name"),
        _latest_attempt(),
    ]


def _task_select() -> Any:
    return sa.select(*_task_columns()).join(steps, steps.c.pk == tasks.c.step_pk)


# Point reads built once, with bind parameters (see flowtrail.store.sql.lookup).
_GET_TASK = _task_select().where(tasks.c.pk == sa.bindparam("pk"))
#: A task by its pathspec: its run's keys, its key and its columns in one statement.
_TASK_BY_PATH = run_and_task_keys(*_task_columns())


def get_task(keys: Keys, task: Pathspec) -> TaskRecord:
    """The task ``Flow/run_id/step/task_id``."""
    row = keys.conn.execute(_GET_TASK, {"pk": keys.task_pk(task)}).one()
    return codec.task_from_row(row, keys.run)


def read_task_stmt(task: Pathspec) -> Any:
    """The statement of :func:`read_task` with its values in it (for plans)."""
    run = task.truncate(Level.RUN)
    return _TASK_BY_PATH.params(flow=run.flow, run_id=run.run_id, task_id=task.task_id)


def read_task(reads: Reads, task: Pathspec) -> TaskRecord:
    """The task ``Flow/run_id/step/task_id`` in one statement (its keys and its row).

    Raises:
        NotFound: no such run, or no such task in that step.
    """
    row = task_row(reads, task, _TASK_BY_PATH)
    return codec.task_from_row(row[4:], task.truncate(Level.RUN))


def find_tasks_stmt(keys: Keys, scope: Pathspec, limit: int, after: int | None) -> Any:
    """The statement behind ``find_tasks``: a step's tasks on ``tasks (step_pk, pk)``,
    or a run's on ``tasks (run_pk, task_id)``, oldest first."""
    stmt = _task_select()
    if scope.level is Level.STEP:
        stmt = stmt.where(tasks.c.step_pk == keys.step_pk(scope))
    else:
        stmt = stmt.where(tasks.c.run_pk == keys.run_pk)
    if after is not None:
        stmt = stmt.where(tasks.c.pk > after)
    return stmt.order_by(tasks.c.pk).limit(limit)


def find_tasks(keys: Keys, scope: Pathspec, page: PageRequest) -> Page[TaskRecord]:
    """The tasks of a step or of the whole run, oldest first."""
    after = decode_cursor("tasks", page.cursor, (int,))
    rows = keys.conn.execute(
        find_tasks_stmt(keys, scope, page.limit + 1, after[0] if after else None)
    ).all()
    return _task_page(keys, rows, page, "tasks")


def find_child_tasks(keys: Keys, task: Pathspec, page: PageRequest) -> Page[TaskRecord]:
    """The tasks naming ``task`` among their parents, oldest first."""
    keys.task_pk(task)
    after = decode_cursor("child-tasks", page.cursor, (int,))
    stmt = _task_select().join(task_edges, task_edges.c.child_pk == tasks.c.pk)
    stmt = stmt.where(
        task_edges.c.run_pk == keys.run_pk, task_edges.c.parent_task_id == task.task_id
    )
    if after is not None:
        stmt = stmt.where(tasks.c.pk > after[0])
    rows = keys.conn.execute(stmt.order_by(tasks.c.pk).limit(page.limit + 1)).all()
    return _task_page(keys, rows, page, "child-tasks")


def _task_page(
    keys: Keys, rows: Sequence[Any], page: PageRequest, listing: str
) -> Page[TaskRecord]:
    return page_of(
        listing,
        rows,
        page.limit,
        lambda r: [r[0]],
        lambda r: codec.task_from_row(r, keys.run),
    )


def set_task_statuses(keys: Keys, changes: Sequence[TaskStatusChange], now: datetime) -> None:
    """Apply task status changes in order, each checked against the transition table."""
    if not changes:
        return
    pks = {c.pathspec.task_id: keys.task_pk(c.pathspec) for c in changes}
    current = {
        r.pk: Status(r.status)
        for r in keys.conn.execute(
            # FOR UPDATE: two writers must not both see the same status (PostgreSQL; a
            # SQLite write transaction holds the whole database already).
            sa.select(tasks.c.pk, tasks.c.status)
            .where(in_values(keys.conn, tasks.c.pk, list(pks.values())))
            .with_for_update()
        )
    }
    updates: dict[int, dict[str, Any]] = {}
    for change in changes:
        pk = pks[change.pathspec.task_id]
        if current[pk] == change.status:
            continue
        check_transition(str(change.pathspec), current[pk], change.status)
        current[pk] = change.status
        at = change.at or now
        updates[pk] = {
            "pk": pk,
            "status": str(change.status),
            "finished_at": at if change.status.finished else None,
        }
    bulk_update(keys.conn, tasks, ("pk",), list(updates.values()))


# -- attempts ----------------------------------------------------------------------------


def start_attempts(
    keys: Keys,
    new: Sequence[NewAttempt],
    now: datetime,
    ends: Mapping[tuple[Pathspec, int], AttemptEnd] | None = None,
) -> None:
    """Insert attempts, ``running``; ``AlreadyExists`` when the number is taken.

    An attempt in ``ends`` (by pathspec and number) is inserted as that end records it:
    the end that would follow in the same transaction (checked already).
    """
    if not new:
        return
    _check_unique("attempt", [f"{a.pathspec}#{a.number}" for a in new])
    task_pks = [keys.task_pk(a.pathspec) for a in new]
    wanted = {(pk, a.number): a for pk, a in zip(task_pks, new, strict=True)}
    # Tasks created in this transaction have no attempts to clash with.
    known = sorted(set(task_pks) - keys.created_tasks)
    for row in keys.conn.execute(attempts_of_tasks_stmt(keys.conn, known)) if known else ():
        clash = wanted.get((row.task_pk, row.number))
        if clash is not None:
            raise AlreadyExists(
                f"task {clash.pathspec} has an attempt {clash.number} already",
                details={"pathspec": str(clash.pathspec), "attempt": clash.number},
            )
    ends = ends or {}
    rows = []
    for pk, a in zip(task_pks, new, strict=True):
        end = ends.get((a.pathspec, a.number))
        rows.append(
            {
                "task_pk": pk,
                "number": a.number,
                "status": str(Status.RUNNING if end is None else end.status),
                "started_at": a.started_at or now,
                "finished_at": None if end is None else end.finished_at or now,
                "host": a.host,
                "pid": a.pid,
                "exception": None if end is None else codec.dump_exception(end.exception),
            }
        )
    bulk_insert(keys.conn, attempts, rows)


def attempts_of_tasks_stmt(bind: Connection, task_pks: Sequence[int]) -> Any:
    """The attempts of some tasks, by the ``attempts (task_pk, number)`` key.

    (A row-value ``(task_pk, number) IN (...)`` would be simpler to write, but SQLite
    answers it by scanning every attempt.)
    """
    return sa.select(attempts.c.task_pk, attempts.c.number, attempts.c.status).where(
        in_values(bind, attempts.c.task_pk, task_pks)
    )


def end_attempts(keys: Keys, ends: Sequence[AttemptEnd], now: datetime) -> None:
    """Record attempts' final statuses, in order; repeating the same end is a no-op.

    One query reads the current statuses and one bulk update writes the changes.
    """
    if not ends:
        return
    wanted = [(keys.task_pk(end.pathspec), end.number) for end in ends]
    current = {
        (r.task_pk, r.number): Status(r.status)
        for r in keys.conn.execute(
            attempts_of_tasks_stmt(keys.conn, sorted({pk for pk, _ in wanted})).with_for_update()
        )
    }
    updates: dict[tuple[int, int], dict[str, Any]] = {}
    for key, end in zip(wanted, ends, strict=True):
        if key not in current:
            raise NotFound(
                f"task {end.pathspec} has no attempt {end.number}",
                details={"pathspec": str(end.pathspec), "attempt": end.number},
            )
        if current[key] == end.status:
            continue
        check_transition(f"attempt {end.number} of {end.pathspec}", current[key], end.status)
        current[key] = end.status
        updates[key] = {
            "task_pk": key[0],
            "number": key[1],
            "status": str(end.status),
            "finished_at": end.finished_at or now,
            "exception": codec.dump_exception(end.exception),
        }
    bulk_update(keys.conn, attempts, ("task_pk", "number"), list(updates.values()))


_LATEST_ATTEMPT = (
    sa.select(attempts)
    .where(attempts.c.task_pk == sa.bindparam("task_pk"))
    .order_by(attempts.c.number.desc())
    .limit(1)
)
_ATTEMPT = sa.select(attempts).where(
    attempts.c.task_pk == sa.bindparam("task_pk"), attempts.c.number == sa.bindparam("number")
)


def get_attempt(keys: Keys, task: Pathspec, number: int | None) -> AttemptRecord:
    """Attempt ``number`` of a task, or its latest."""
    task_pk = keys.task_pk(task)
    if number is None:
        row = keys.conn.execute(_LATEST_ATTEMPT, {"task_pk": task_pk}).one_or_none()
    else:
        row = keys.conn.execute(_ATTEMPT, {"task_pk": task_pk, "number": number}).one_or_none()
    if row is None:
        which = f"attempt {number}" if number is not None else "attempts yet"
        raise NotFound(f"task {task} has no {which}", details={"pathspec": str(task)})
    return codec.attempt_from_row(row, task)


def find_attempts(keys: Keys, task: Pathspec, page: PageRequest) -> Page[AttemptRecord]:
    """A task's attempts in attempt order."""
    after = decode_cursor("attempts", page.cursor, (int,))
    stmt = sa.select(attempts).where(attempts.c.task_pk == keys.task_pk(task))
    if after is not None:
        stmt = stmt.where(attempts.c.number > after[0])
    rows = keys.conn.execute(stmt.order_by(attempts.c.number).limit(page.limit + 1)).all()
    return page_of(
        "attempts",
        rows,
        page.limit,
        lambda r: [r.number],
        lambda r: codec.attempt_from_row(r, task),
    )
