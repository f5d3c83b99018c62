"""Steps, tasks and attempts in SQL. Writes take many items at once (a batch carries many),
resolve keys through :class:`~flowtrail.store.sql.lookup.Keys`, and run on a connection
whose transaction the caller owns."""

from __future__ import annotations

import functools
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
from flowtrail.store.sql.lookup import (
    Keys,
    checked_task_rows,
    listed,
    missing_run,
    missing_step,
    run_and_task_keys,
    run_path_select,
    run_values,
    stored,
    task_row,
    task_values,
)
from flowtrail.store.sql.paging import decode_cursor, page_of
from flowtrail.store.sql.reads import Reads
from flowtrail.store.sql.schema import attempts, runs, steps, task_edges, tasks

__all__ = [
    "attempt_stmt",
    "attempts_of_tasks_stmt",
    "child_tasks_stmt",
    "create_steps",
    "create_tasks",
    "end_attempts",
    "find_tasks_stmt",
    "get_task",
    "read_attempt",
    "read_attempts",
    "read_child_tasks",
    "read_step",
    "read_steps",
    "read_task",
    "read_task_stmt",
    "read_tasks",
    "set_task_statuses",
    "start_attempts",
    "step_stmt",
    "steps_stmt",
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


def _step_columns() -> list[Any]:
    """A step's columns as stored (:func:`~flowtrail.store.sql.codec.step_from_row`), with
    ``finished_at``, the latest of its tasks' (on ``tasks (step_pk, pk)``)."""
    c = steps.c
    number = sa.BigInteger()
    finished = (
        sa.select(sa.func.max(tasks.c.finished_at))
        .where(tasks.c.step_pk == steps.c.pk)
        .scalar_subquery()
    )
    return [
        c.pk,
        c.name,
        c.kind,
        stored(c.next_steps, sa.Text()),
        stored(c.created_at, number),
        sa.type_coerce(finished, number).label("finished_at"),
    ]


@functools.cache
def _steps_by_path(by_name: bool, after: bool) -> Any:
    """One shape of the statement that reads a run's steps by its pathspec: the run's keys
    and the steps (``NULL``s for a run without one), one by its name (``steps (run_pk,
    name)``) or a page newest first."""
    on = steps.c.run_pk == runs.c.pk
    if by_name:
        on = sa.and_(on, steps.c.name == sa.bindparam("step"))
    if after:
        on = sa.and_(on, steps.c.pk < sa.bindparam("after"))
    stmt = run_path_select(*_step_columns(), outer=[(steps, on)])
    if by_name:
        return stmt
    return stmt.order_by(steps.c.pk.desc()).limit(sa.bindparam("limit", type_=sa.Integer()))


def step_stmt(step: Pathspec) -> Any:
    """The statement of :func:`read_step` with its values in it (for plans)."""
    return _steps_by_path(True, False).params(run_values(step, step=step.step))


def steps_stmt(run: Pathspec, limit: int, after: int | None) -> Any:
    """The statement of :func:`read_steps` with its values in it (for plans)."""
    return _steps_by_path(False, after is not None).params(
        run_values(run, limit=limit, after=after)
    )


def read_step(reads: Reads, step: Pathspec) -> StepRecord:
    """The step ``Flow/run_id/step``, in one statement.

    Raises:
        NotFound: no such run, or no such step in it.
    """
    run = step.truncate(Level.RUN)
    row = reads.first(_steps_by_path(True, False), run_values(run, step=step.step))
    if row is None:
        missing_run(reads, run)
    if row[2] is None:
        raise missing_step(step)
    return codec.step_from_row(row[2:], run)


def read_steps(reads: Reads, run: Pathspec, page: PageRequest) -> Page[StepRecord]:
    """The steps of the run, newest first, in one statement.

    Raises:
        NotFound: no such run.
    """
    after = decode_cursor("steps", page.cursor, (int,))
    values = run_values(run, limit=page.limit + 1, after=after[0] if after else None)
    rows = reads.all(_steps_by_path(False, after is not None), values)
    if not rows:
        missing_run(reads, run)
    return page_of(
        "steps",
        listed(rows, 2),
        page.limit,
        lambda r: [r[2]],
        lambda r: codec.step_from_row(r[2:], run),
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


@functools.cache
def _tasks_by_path(of_step: bool, after: bool) -> Any:
    """One shape of the statement that reads a page of tasks by the pathspec of their step
    (on ``steps (run_pk, name)`` and ``tasks (step_pk, pk)``) or of their run (on ``tasks
    (run_pk, task_id)``), oldest first: the run's keys, the step's key (``NULL`` when the
    run has no such step), then the task's columns (``NULL``s when there is none)."""
    on_task = tasks.c.step_pk == steps.c.pk if of_step else tasks.c.run_pk == runs.c.pk
    if after:
        on_task = sa.and_(on_task, tasks.c.pk > sa.bindparam("after"))
    if of_step:
        on_step = sa.and_(steps.c.run_pk == runs.c.pk, steps.c.name == sa.bindparam("step"))
        outer = [(steps, on_step), (tasks, on_task)]
    else:
        outer = [(tasks, on_task), (steps, steps.c.pk == tasks.c.step_pk)]
    stmt = run_path_select(steps.c.pk.label("step_pk"), *_task_columns(), outer=outer)
    return stmt.order_by(tasks.c.pk).limit(sa.bindparam("limit", type_=sa.Integer()))


def _tasks_values(scope: Pathspec, limit: int, after: int | None) -> dict[str, Any]:
    return run_values(scope, step=scope.step, limit=limit, after=after)


def find_tasks_stmt(scope: Pathspec, limit: int, after: int | None) -> Any:
    """The statement of :func:`read_tasks` with its values in it (for plans)."""
    stmt = _tasks_by_path(scope.level is Level.STEP, after is not None)
    return stmt.params(_tasks_values(scope, limit, after))


def read_tasks(reads: Reads, scope: Pathspec, page: PageRequest) -> Page[TaskRecord]:
    """The tasks of a step or of the whole run, oldest first, in one statement.

    Raises:
        NotFound: no such run, or no such step in it.
    """
    after = decode_cursor("tasks", page.cursor, (int,))
    of_step = scope.level is Level.STEP
    stmt = _tasks_by_path(of_step, after is not None)
    run = scope.truncate(Level.RUN)
    rows = reads.all(stmt, _tasks_values(scope, page.limit + 1, after[0] if after else None))
    if not rows:
        missing_run(reads, run)
    first = rows[0]
    if of_step and first[2] is None:
        raise missing_step(scope)
    return page_of(
        "tasks",
        listed(rows, 3),
        page.limit,
        lambda r: [r[3]],
        lambda r: codec.task_from_row(r[3:], run),
    )


@functools.cache
def _children_by_path(after: bool) -> Any:
    """The statement that reads a page of a task's children by its pathspec: the run's keys,
    the task's key and step (an alias: ``tasks`` and ``steps`` are the children's), then
    each child's columns (``NULL``s when it has none), on ``task_edges (run_pk,
    parent_task_id, child_pk)``, oldest first."""
    parent, parent_step = tasks.alias("parent"), steps.alias("parent_step")
    task_id: Any = sa.bindparam("task_id")
    edge = sa.and_(task_edges.c.run_pk == runs.c.pk, task_edges.c.parent_task_id == task_id)
    if after:
        edge = sa.and_(edge, task_edges.c.child_pk > sa.bindparam("after"))
    return (
        run_path_select(
            parent.c.pk,
            parent_step.c.name,
            *_task_columns(),
            outer=[
                (parent, sa.and_(parent.c.run_pk == runs.c.pk, parent.c.task_id == task_id)),
                (parent_step, parent_step.c.pk == parent.c.step_pk),
                (task_edges, edge),
                (tasks, tasks.c.pk == task_edges.c.child_pk),
                (steps, steps.c.pk == tasks.c.step_pk),
            ],
        )
        .order_by(task_edges.c.child_pk)
        .limit(sa.bindparam("limit", type_=sa.Integer()))
    )


def child_tasks_stmt(task: Pathspec, limit: int, after: int | None) -> Any:
    """The statement of :func:`read_child_tasks` with its values in it (for plans)."""
    return _children_by_path(after is not None).params(task_values(task, limit=limit, after=after))


def read_child_tasks(reads: Reads, task: Pathspec, page: PageRequest) -> Page[TaskRecord]:
    """The tasks naming ``task`` among their parents, oldest first, in one statement.

    Raises:
        NotFound: no such run or task.
    """
    after = decode_cursor("child-tasks", page.cursor, (int,))
    stmt = _children_by_path(after is not None)
    values = task_values(task, limit=page.limit + 1, after=after[0] if after else None)
    rows = checked_task_rows(reads, task, reads.all(stmt, values))
    run = task.truncate(Level.RUN)
    return page_of(
        "child-tasks",
        listed(rows, 4),
        page.limit,
        lambda r: [r[4]],
        lambda r: codec.task_from_row(r[4:], run),
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


def _attempt_columns() -> list[Any]:
    """An attempt's columns as stored (:func:`~flowtrail.store.sql.codec.attempt_from_row`)."""
    c = attempts.c
    number = sa.BigInteger()
    return [
        c.number,
        c.status,
        stored(c.started_at, number),
        stored(c.finished_at, number),
        c.host,
        c.pid,
        stored(c.exception, sa.Text()),
    ]


@functools.cache
def _attempts_by_path(which: str) -> Any:
    """One shape of the statement that reads attempts by their task's pathspec, on the
    ``attempts (task_pk, number)`` key: ``"number"`` (the one numbered so), ``"latest"``,
    ``"all"`` (a page in attempt order) or ``"after"`` (the next page)."""
    on = attempts.c.task_pk == tasks.c.pk
    if which == "number":
        on = sa.and_(on, attempts.c.number == sa.bindparam("number"))
    elif which == "after":
        on = sa.and_(on, attempts.c.number > sa.bindparam("after"))
    stmt = run_and_task_keys(*_attempt_columns(), outer=[(attempts, on)])
    if which == "number":
        return stmt
    if which == "latest":
        return stmt.order_by(attempts.c.number.desc()).limit(1)
    return stmt.order_by(attempts.c.number).limit(sa.bindparam("limit", type_=sa.Integer()))


def attempt_stmt(task: Pathspec, number: int | None) -> Any:
    """The statement of :func:`read_attempt` with its values in it (for plans)."""
    if number is None:
        return _attempts_by_path("latest").params(task_values(task))
    return _attempts_by_path("number").params(task_values(task, number=number))


def read_attempt(reads: Reads, task: Pathspec, number: int | None) -> AttemptRecord:
    """Attempt ``number`` of a task, or its latest, in one statement.

    Raises:
        NotFound: no such run, task or attempt.
    """
    if number is None:
        row = task_row(reads, task, _attempts_by_path("latest"))
    else:
        row = task_row(reads, task, _attempts_by_path("number"), number=number)
    if row[4] is None:
        which = f"attempt {number}" if number is not None else "attempts yet"
        raise NotFound(f"task {task} has no {which}", details={"pathspec": str(task)})
    return codec.attempt_from_row(row[4:], task)


def read_attempts(reads: Reads, task: Pathspec, page: PageRequest) -> Page[AttemptRecord]:
    """A task's attempts in attempt order, in one statement.

    Raises:
        NotFound: no such run or task.
    """
    after = decode_cursor("attempts", page.cursor, (int,))
    values = task_values(task, limit=page.limit + 1, after=after[0] if after else None)
    stmt = _attempts_by_path("all" if after is None else "after")
    rows = checked_task_rows(reads, task, reads.all(stmt, values))
    return page_of(
        "attempts",
        listed(rows, 4),
        page.limit,
        lambda r: [r[4]],
        lambda r: codec.attempt_from_row(r[4:], task),
    )
