"""Finding the surrogate keys of flows, runs, steps and tasks from their pathspecs, with
``NotFound`` errors that say which level is missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from flowtrail.errors import NotFound
from flowtrail.model import Level, Pathspec
from flowtrail.store.sql.reads import ConnectionReads, Reads
from flowtrail.store.sql.reads import Row as StoredRow
from flowtrail.store.sql.schema import flows, run_tags, runs, steps, tasks

__all__ = [
    "RECORD_FIELDS",
    "RECORD_WIDTH",
    "TAG_SEPARATOR",
    "Keys",
    "checked_task_rows",
    "find_flow_pk",
    "flow_pk",
    "listed",
    "missing_flow",
    "missing_run",
    "missing_step",
    "missing_task",
    "read_run_row",
    "record_columns",
    "run_exists",
    "run_exists_stmt",
    "run_keys",
    "run_path_select",
    "run_record_columns",
    "run_row",
    "run_values",
    "stored",
    "task_keys",
    "task_row",
    "task_values",
]

#: Separates the tags of a run in its ``tag_list`` column (see
#: :func:`flowtrail.store.sql.codec.encode_tag_list`): tags never hold control characters.
TAG_SEPARATOR = "\x1f"


def _flow_name() -> Any:
    flow = flows.alias("run_flow")
    return (
        sa.select(flow.c.name)
        .where(flow.c.pk == runs.c.flow_pk)
        .scalar_subquery()
        .label("flow_name")
    )


def stored(column: Any, as_type: Any) -> Any:
    # The value as the database holds it (epoch milliseconds, JSON text on SQLite), without
    # the column type's conversion: codec.runs_from_rows decodes a row in one pass, which is
    # most of a page's time otherwise (a Python call per converted column of every row).
    return sa.type_coerce(column, as_type).label(column.name)


def record_columns(table: Any = runs, flow_name: str | None = None) -> list[Any]:
    """The columns a run's record is built from (:func:`flowtrail.store.sql.codec.
    runs_from_rows`), in :data:`RECORD_FIELDS` order: those of ``table`` (``runs`` or an alias
    of it) as stored, then its flow's name (``flow_name``: the one given, for a statement
    that reads one flow's runs, else looked up by the ``flow_pk`` of ``runs``, which the
    statement must read: an alias is the same run, joined by key) and its tags
    (``tag_list``), so that a run or a page of runs is one statement."""
    c = table.c
    number, text = sa.BigInteger(), sa.Text()
    return [
        c.pk,
        c.flow_pk,
        c.run_id,
        c.run_number,
        c.status,
        stored(c.created_at, number),
        stored(c.finished_at, number),
        stored(c.heartbeat_at, number),
        c.heartbeat_timeout_ms,
        c.user_name,
        stored(c.parameters, text),
        c.origin_run_id,
        stored(c.trigger, text),
        stored(c.code_package, text),
        stored(c.flow_metadata, text),
        _flow_name() if flow_name is None else sa.literal(flow_name, text).label("flow_name"),
        c.tag_list,
    ]


#: The names of :func:`record_columns`, in order.
RECORD_FIELDS = tuple(column.name for column in record_columns())
#: How many columns a run's record is read from: a statement's further columns (the sort
#: values of a search) begin here.
RECORD_WIDTH = len(RECORD_FIELDS)
_RECORD_COLUMNS = tuple(record_columns())  # built once: statements are immutable


def run_record_columns(flow_name: str | None = None) -> list[Any]:
    """:func:`record_columns` of ``runs`` itself."""
    return list(_RECORD_COLUMNS) if flow_name is None else record_columns(runs, flow_name)


# The lookups every read makes are built once, with bind parameters: SQLAlchemy then finds
# their compiled form by a cache key it has memoized, instead of building a statement and
# working out its key for each call (most of a point read's time in Python).
_FLOW_PK = sa.select(flows.c.pk).where(flows.c.name == sa.bindparam("name"))


def find_flow_pk(reads: Reads, name: str) -> int | None:
    """The key of flow ``name``, or ``None`` when there is no such flow."""
    row = reads.first(_FLOW_PK, {"name": name})
    return None if row is None else int(row[0])


def flow_pk(reads: Reads, name: str) -> int:
    """The key of flow ``name``.

    Raises:
        NotFound: no such flow.
    """
    pk = find_flow_pk(reads, name)
    if pk is None:
        raise missing_flow(name)
    return int(pk)


def missing_flow(name: str) -> NotFound:
    """The error for a flow that no run was recorded under."""
    return NotFound(f"flow {name!r} does not exist", details={"pathspec": name})


def run_row(conn: Connection, run: Pathspec, *, for_update: bool = False) -> Row[Any]:
    """The ``runs`` row of ``Flow/run_id``, in a write transaction (locked, with
    ``for_update``, on PostgreSQL).

    Raises:
        NotFound: no such flow, or no such run in it.
    """
    run.expect(Level.RUN)
    stmt = _RUN_ROW
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=runs)
    row = conn.execute(stmt, {"flow": run.flow, "run_id": run.run_id}).one_or_none()
    if row is None:
        missing_run(ConnectionReads(conn), run)
    return row


def read_run_row(reads: Reads, run: Pathspec) -> StoredRow:
    """The row of ``Flow/run_id`` as stored (:func:`record_columns`), read by position.

    Raises:
        NotFound: no such flow, or no such run in it.
    """
    row = reads.first(_RUN_ROW, {"flow": run.flow, "run_id": run.run_id})
    if row is None:
        missing_run(reads, run)
    return row


_RUN_ROW = (
    sa.select(*_RECORD_COLUMNS)
    .join(flows, flows.c.pk == runs.c.flow_pk)
    .where(flows.c.name == sa.bindparam("flow"), runs.c.run_id == sa.bindparam("run_id"))
)
_RUN_KEYS = (
    sa.select(runs.c.pk, runs.c.flow_pk)
    .join(flows, flows.c.pk == runs.c.flow_pk)
    .where(flows.c.name == sa.bindparam("flow"), runs.c.run_id == sa.bindparam("run_id"))
)


def run_keys(reads: Reads, run: Pathspec) -> tuple[int, int]:
    """The keys ``(run pk, flow pk)`` of ``Flow/run_id``: what reads below a run need, without
    the run's record.

    Raises:
        NotFound: no such flow, or no such run in it.
    """
    row = reads.first(_RUN_KEYS, {"flow": run.flow, "run_id": run.run_id})
    if row is None:
        missing_run(reads, run)
    return int(row[0]), int(row[1])


_RUN_EXISTS = _RUN_KEYS.with_only_columns(runs.c.pk)
_TAGGED = run_tags.alias("namespace_tag")
_RUN_EXISTS_TAGGED = _RUN_EXISTS.where(
    sa.exists().where(_TAGGED.c.run_pk == runs.c.pk, _TAGGED.c.tag == sa.bindparam("tag"))
)


def run_exists_stmt(run: Pathspec, namespace: str | None) -> Any:
    """The statement of :func:`run_exists` with its values in it (for plans: the store
    runs the pre-built one with the values beside it)."""
    values = {"flow": run.flow, "run_id": run.run_id}
    if namespace is None:
        return _RUN_EXISTS.params(values)
    return _RUN_EXISTS_TAGGED.params({**values, "tag": namespace})


def run_exists(reads: Reads, run: Pathspec, namespace: str | None) -> bool:
    """Whether ``Flow/run_id`` exists (and carries the tag ``namespace``, if given): one
    statement on the flows' name and the runs' ``(flow_pk, run_id)`` keys, and the primary
    key ``run_tags (run_pk, tag)``."""
    values = {"flow": run.flow, "run_id": run.run_id}
    if namespace is None:
        return reads.first(_RUN_EXISTS, values) is not None
    return reads.first(_RUN_EXISTS_TAGGED, {**values, "tag": namespace}) is not None


def missing_run(reads: Reads, run: Pathspec) -> NoReturn:
    """Raise ``NotFound`` for a run that a read did not find, naming the flow when it is
    the flow that is missing."""
    flow_pk(reads, run.flow)  # raises if it is the flow that is missing
    raise NotFound(
        f"run {str(run)!r} does not exist in flow {run.flow!r}",
        details={"pathspec": str(run)},
    )


def missing_step(step: Pathspec) -> NotFound:
    """The error for a step that its run does not have."""
    return NotFound(
        f"step {str(step)!r} does not exist in run {str(step.truncate(Level.RUN))!r}",
        details={"pathspec": str(step)},
    )


def missing_task(task: Pathspec, found_in: str | None) -> NotFound:
    """The error for a task that its run does not have in the step named; ``found_in`` is
    the step that has a task of that id, if one does."""
    return NotFound(
        f"task {str(task)!r} does not exist"
        + (f" (task {task.task_id!r} of this run is in step {found_in!r})" if found_in else ""),
        details={"pathspec": str(task)},
    )


_STEP_PK = sa.select(steps.c.pk).where(
    steps.c.run_pk == sa.bindparam("run_pk"), steps.c.name == sa.bindparam("name")
)
_TASK_PK = (
    sa.select(tasks.c.pk, steps.c.name)
    .join(steps, steps.c.pk == tasks.c.step_pk)
    .where(tasks.c.run_pk == sa.bindparam("run_pk"), tasks.c.task_id == sa.bindparam("task_id"))
)


def run_path_select(*columns: Any, outer: Sequence[tuple[Any, Any]] = ()) -> Any:
    """A statement that finds ``Flow/run_id`` by name (the flow's name, the runs'
    ``(flow_pk, run_id)`` key) and selects the run's key, its flow's key, then ``columns``
    of the tables ``outer`` joins to it: ``(table, on)`` pairs, outer joins in that order, so
    that a run without such rows still gives one row (of ``NULL``s) and a missing run none.
    Its bind parameters are ``flow`` and ``run_id``, and those of ``outer``."""
    joined = runs.join(flows, flows.c.pk == runs.c.flow_pk)
    for table, on in outer:
        joined = joined.outerjoin(table, on)
    return (
        sa.select(runs.c.pk, runs.c.flow_pk, *columns)
        .select_from(joined)
        .where(flows.c.name == sa.bindparam("flow"), runs.c.run_id == sa.bindparam("run_id"))
    )


def run_and_task_keys(*columns: Any, outer: Sequence[tuple[Any, Any]] = ()) -> Any:
    """The statement that resolves a run and one of its tasks by name (the task's columns
    ``NULL`` when the run has no such task), selecting ``columns`` of ``tasks``, ``steps``
    and the tables ``outer`` joins after them besides the keys: see :meth:`Keys.for_path`
    and :func:`run_path_select`."""
    return run_path_select(
        tasks.c.pk.label("task_pk"),
        steps.c.name.label("step_name"),
        *columns,
        outer=[
            (
                tasks,
                sa.and_(tasks.c.run_pk == runs.c.pk, tasks.c.task_id == sa.bindparam("task_id")),
            ),
            (steps, steps.c.pk == tasks.c.step_pk),
            *outer,
        ],
    )


_RUN_AND_TASK_KEYS = run_and_task_keys()


def task_row(
    reads: Reads, task: Pathspec, stmt: Any = _RUN_AND_TASK_KEYS, **values: Any
) -> StoredRow:
    """The first row of ``stmt``, a :func:`run_and_task_keys` statement, for the task
    ``Flow/run_id/step/task_id`` (``values`` for its other bind parameters, see
    :func:`run_values`): the run's key, its flow's key, the task's key, its step's name,
    then the columns asked for.

    Raises:
        NotFound: no such run, or no such task in that step.
    """
    return checked_task_rows(reads, task, reads.all(stmt, task_values(task, **values)))[0]


def run_values(run: Pathspec, **values: Any) -> dict[str, Any]:
    """The bind parameters of a :func:`run_path_select` statement for the run of ``run``
    (any pathspec below it), and those of ``values`` that are not ``None`` (a value left
    out is a bind parameter the statement's shape does not have)."""
    present = {name: value for name, value in values.items() if value is not None}
    return {"flow": run.flow, "run_id": run.run_id, **present}


def task_values(task: Pathspec, **values: Any) -> dict[str, Any]:
    """:func:`run_values` for a :func:`run_and_task_keys` statement: with ``task_id``."""
    return run_values(task, task_id=task.task_id, **values)


def listed(rows: list[StoredRow], column: int) -> list[StoredRow]:
    """The rows of a listing outer-joined to what holds it (found by
    :func:`checked_task_rows` or alike): none when its one row has ``NULL`` where the items'
    columns start, at ``column`` (a run, step or task without such items)."""
    return [] if rows[0][column] is None else rows


def checked_task_rows(reads: Reads, task: Pathspec, rows: list[StoredRow]) -> list[StoredRow]:
    """``rows`` of a :func:`run_and_task_keys` statement for ``task``, when they found it.

    Raises:
        NotFound: no such run, or no such task in that step.
    """
    if not rows:
        missing_run(reads, task.truncate(Level.RUN))
    first = rows[0]
    if first[2] is None or first[3] != task.step:
        raise missing_task(task, first[3])
    return rows


def task_keys(reads: Reads, task: Pathspec) -> tuple[int, int]:
    """The keys ``(run pk, task pk)`` of ``Flow/run_id/step/task_id``, in one statement.

    Raises:
        NotFound: no such run, or no such task in that step.
    """
    row = task_row(reads, task)
    return int(row[0]), int(row[2])


@dataclass
class Keys:
    """Resolves and remembers keys within one transaction (a batch names the same run,
    steps and tasks many times; each is looked up once)."""

    conn: Connection
    run: Pathspec
    run_pk: int
    flow_pk: int
    _steps: dict[str, int] = field(default_factory=dict)
    _tasks: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: Keys of the tasks created in this transaction: they have no records yet.
    created_tasks: set[int] = field(default_factory=set)

    @classmethod
    def for_run(cls, conn: Connection, run: Pathspec) -> Keys:
        """Resolve the run first.

        Raises:
            NotFound: no such run.
        """
        run_pk, flow_key = run_keys(ConnectionReads(conn), run)
        return cls(conn, run, run_pk, flow_key)

    @classmethod
    def for_path(cls, conn: Connection, pathspec: Pathspec) -> Keys:
        """Resolve the run of ``pathspec`` and, for a task or an artifact, its task too, in
        one statement (a read of a task's records is then its key lookup and its query).

        Raises:
            NotFound: no such run (a missing task is reported by :meth:`task_pk`).
        """
        if pathspec.task_id is None:
            return cls.for_run(conn, pathspec.truncate(Level.RUN))
        return cls.with_task_row(conn, pathspec, _RUN_AND_TASK_KEYS)[0]

    @classmethod
    def with_task_row(cls, conn: Connection, task: Pathspec, stmt: Any) -> tuple[Keys, Row[Any]]:
        """Resolve the run and the task of ``task`` (a task or an artifact pathspec) with
        ``stmt``, a :func:`run_and_task_keys` statement, and return its row too: the task's
        own columns come with its keys.

        Raises:
            NotFound: no such run (a missing task is reported by :meth:`task_pk`).
        """
        assert task.task_id is not None
        run = task.truncate(Level.RUN)
        row = conn.execute(
            stmt, {"flow": run.flow, "run_id": run.run_id, "task_id": task.task_id}
        ).one_or_none()
        if row is None:
            missing_run(ConnectionReads(conn), run)
        keys = cls(conn, run, int(row.pk), int(row.flow_pk))
        if row.task_pk is not None:
            keys._tasks[task.task_id] = (int(row.task_pk), row.step_name)
        return keys, row

    def step_pk(self, step: Pathspec) -> int:
        """The key of a step of this run.

        Raises:
            NotFound: no such step.
        """
        name = step.expect(Level.STEP).step
        assert name is not None
        if name not in self._steps:
            pk = self.conn.execute(
                _STEP_PK, {"run_pk": self.run_pk, "name": name}
            ).scalar_one_or_none()
            if pk is None:
                raise missing_step(step)
            self._steps[name] = int(pk)
        return self._steps[name]

    def remember_step(self, name: str, pk: int) -> None:
        """Note a step created in this transaction."""
        self._steps[name] = pk

    def task_pk(self, task: Pathspec) -> int:
        """The key of a task of this run, checking that it belongs to the step named.

        Raises:
            NotFound: no such task in that step.
        """
        task_id = task.task_id
        if task_id is None or task.artifact is not None:
            task.expect(Level.TASK)  # raises with the expected shape
        assert task_id is not None
        if task_id not in self._tasks:
            row = self.conn.execute(
                _TASK_PK, {"run_pk": self.run_pk, "task_id": task_id}
            ).one_or_none()
            if row is not None:
                self._tasks[task_id] = (int(row.pk), row.name)
        found = self._tasks.get(task_id)
        if found is None or found[1] != task.step:
            raise missing_task(task, found[1] if found else None)
        return found[0]

    def remember_task(self, task_id: str, pk: int, step_name: str) -> None:
        """Note a task created in this transaction."""
        self._tasks[task_id] = (pk, step_name)
        self.created_tasks.add(pk)
