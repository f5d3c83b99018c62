"""Flows, runs and tags in SQL: the statements and the write logic, on a connection whose
transaction the caller owns."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from flowtrail.errors import AlreadyExists, InvalidArgument, InvalidTag, InvalidTransition
from flowtrail.model import (
    FlowRecord,
    MetadataValue,
    NewRun,
    Page,
    PageRequest,
    Pathspec,
    RunRecord,
    Status,
    TagCount,
    check_transition,
    from_epoch_ms,
    is_system_tag,
    to_epoch_ms,
    validate_new_tag,
    validate_tag,
)
from flowtrail.model.tags import check_user_tag_count
from flowtrail.store.sql import codec
from flowtrail.store.sql.dialects import bulk_insert, insert_ignore, insert_or_add, unit_joined
from flowtrail.store.sql.lookup import (
    find_flow_pk,
    flow_pk,
    missing_flow,
    run_record_columns,
    run_row,
    stored,
)
from flowtrail.store.sql.paging import decode_cursor, page_of
from flowtrail.store.sql.reads import ConnectionReads, Reads
from flowtrail.store.sql.reads import Row as StoredRow
from flowtrail.store.sql.schema import (
    ALL_RUNS,
    attempts,
    flows,
    run_params,
    run_tags,
    runs,
    tag_counts,
    tasks,
)
from flowtrail.store.sql.where import prefix_range

__all__ = [
    "add_tags",
    "create_flow",
    "create_run",
    "delete_run",
    "find_flows",
    "find_tags",
    "find_tags_stmt",
    "flow_record",
    "heartbeat",
    "load_runs",
    "reap_lost",
    "rebuild_tag_summaries",
    "remove_tags",
    "running_runs",
    "set_run_status",
    "stale_runs",
]

_INT64_MAX = 2**63 - 1


# -- flows -------------------------------------------------------------------------------


def create_flow(
    conn: Connection, name: str, metadata: Mapping[str, MetadataValue] | None, now: datetime
) -> FlowRecord:
    """Insert a flow; ``AlreadyExists`` if it is there."""
    Pathspec(name)
    inserted = conn.execute(
        insert_ignore(conn, flows)
        .values(
            name=name,
            created_at=now,
            metadata=codec.dump_metadata_map(
                {k: MetadataValue.of(v) for k, v in (metadata or {}).items()}
            ),
            last_run_number=0,
        )
        .returning(flows.c.pk)
    ).scalar_one_or_none()
    if inserted is None:
        raise AlreadyExists(f"flow {name!r} exists already", details={"pathspec": name})
    return flow_record(ConnectionReads(conn), name)


def _ensure_flow(conn: Connection, name: str, now: datetime) -> int:
    conn.execute(
        insert_ignore(conn, flows).values(name=name, created_at=now, metadata={}, last_run_number=0)
    )
    return flow_pk(ConnectionReads(conn), name)


#: A flow's columns as stored, in the order :func:`_flow_from_row` reads them.
_FLOW_COLUMNS = (
    flows.c.name,
    stored(flows.c.created_at, sa.BigInteger()),
    stored(flows.c.last_run_at, sa.BigInteger()),
    stored(flows.c.metadata, sa.Text()),
)
_FLOW_ROW = sa.select(*_FLOW_COLUMNS).where(flows.c.name == sa.bindparam("name"))


def flow_record(reads: Reads, name: str) -> FlowRecord:
    """The flow called ``name``; ``NotFound`` if there is none."""
    row = reads.first(_FLOW_ROW, {"name": name})
    if row is None:
        raise missing_flow(name)
    return _flow_from_row(row)


def _flow_from_row(row: Sequence[Any]) -> FlowRecord:
    name, created, last_run, metadata = row
    return FlowRecord(
        pathspec=Pathspec._trusted((name,)),  # validated when the flow was written
        created_at=from_epoch_ms(created),
        last_run_at=None if last_run is None else from_epoch_ms(last_run),
        metadata=codec.load_metadata_map(codec.stored_json(metadata)),
    )


_FLOWS = (
    sa.select(*_FLOW_COLUMNS)
    .order_by(flows.c.name)
    .limit(sa.bindparam("limit", type_=sa.Integer()))
)
_FLOWS_AFTER = _FLOWS.where(flows.c.name > sa.bindparam("after"))


def find_flows(reads: Reads, page: PageRequest) -> Page[FlowRecord]:
    """Flows by name, ascending (statements built once)."""
    after = decode_cursor("flows", page.cursor, (str,))
    if after is None:
        rows = reads.all(_FLOWS, {"limit": page.limit + 1})
    else:
        rows = reads.all(_FLOWS_AFTER, {"limit": page.limit + 1, "after": after[0]})
    return page_of("flows", rows, page.limit, lambda r: [r[0]], _flow_from_row)


# -- runs --------------------------------------------------------------------------------


def create_run(conn: Connection, new: NewRun, now: datetime) -> RunRecord:
    """Insert a run (and its flow), allocating the next integer id when none is given."""
    created = new.created_at or now
    fpk = _ensure_flow(conn, new.flow_name, created)
    run_id = new.run_id
    run_number: int | None = None
    if run_id is None:
        number = conn.execute(
            sa.update(flows)
            .where(flows.c.pk == fpk, flows.c.last_run_number < _INT64_MAX)
            .values(last_run_number=flows.c.last_run_number + 1)
            .returning(flows.c.last_run_number)
        ).scalar_one_or_none()
        if number is None:
            raise InvalidArgument(
                f"flow {new.flow_name!r} has used every automatic run id (up to {_INT64_MAX}); "
                f"choose a run id"
            )
        run_number = int(number)
        run_id = str(run_number)
    elif run_id.isascii() and run_id.isdigit() and int(run_id) < _INT64_MAX:
        # A chosen id that is a number moves the counter past it: automatic ids never
        # collide with it later.
        conn.execute(
            sa.update(flows)
            .where(flows.c.pk == fpk, flows.c.last_run_number < int(run_id))
            .values(last_run_number=int(run_id))
        )
    values: dict[str, Any] = {
        "flow_pk": fpk,
        "run_id": run_id,
        "run_number": run_number,
        "status": str(new.status),
        "created_at": created,
        # The writer is alive now, whatever creation time it claims.
        "heartbeat_at": now,
        "heartbeat_timeout_ms": int(new.heartbeat_timeout.total_seconds() * 1000),
        "user_name": new.user,
        "parameters": dict(new.parameters),
        "origin_run_id": new.origin_run_id,
        "trigger": codec.dump_trigger(new.trigger),
        "code_package": codec.dump_code(new.code_package),
        "flow_metadata": codec.dump_metadata_map(new.flow_metadata),
        "tag_list": codec.encode_tag_list(new.tags - new.system_tags, new.system_tags),
    }
    run_pk = conn.execute(
        insert_ignore(conn, runs).values(**values).returning(runs.c.pk)
    ).scalar_one_or_none()
    if run_pk is None:
        raise AlreadyExists(
            f"run {new.flow_name}/{run_id} exists already; choose another --run-id",
            details={"pathspec": f"{new.flow_name}/{run_id}"},
        )
    flow_update: dict[str, Any] = {"last_run_at": created}
    if new.flow_metadata:
        flow_update["metadata"] = values["flow_metadata"]
    conn.execute(sa.update(flows).where(flows.c.pk == fpk).values(**flow_update))
    tag_rows = [
        {"run_pk": run_pk, "tag": t, "is_system": False, "flow_pk": fpk}
        for t in new.tags - new.system_tags
    ] + [{"run_pk": run_pk, "tag": t, "is_system": True, "flow_pk": fpk} for t in new.system_tags]
    if tag_rows:
        conn.execute(sa.insert(run_tags), tag_rows)
        _count_tags(conn, fpk, new.system_tags, new.tags | new.system_tags, 1)
    bulk_insert(conn, run_params, codec.param_rows(run_pk, fpk, values["parameters"]))
    return load_runs([run_row(conn, Pathspec(new.flow_name, run_id))])[0]


def load_runs(rows: Sequence[StoredRow]) -> list[RunRecord]:
    """Build records for rows of :func:`~flowtrail.store.sql.lookup.run_record_columns`
    (:func:`~flowtrail.store.sql.lookup.run_row`, ``find_runs``): their tags and flow name
    came with them."""
    return codec.runs_from_rows(rows)


#: Where a row of :func:`~flowtrail.store.sql.lookup.record_columns` (and of
#: :func:`running_runs`, which reads its first columns) holds what the liveness rule reads.
_PK, _STATUS, _HEARTBEAT, _TIMEOUT = 0, 4, 7, 8


def stale_runs(rows: Iterable[StoredRow], now: datetime) -> list[StoredRow]:
    """The running runs among ``rows`` (rows of a run's record, as stored) whose heartbeat
    is older than their timeout."""
    now_ms = to_epoch_ms(now)
    running = str(Status.RUNNING)
    return [r for r in rows if r[_STATUS] == running and r[_HEARTBEAT] < now_ms - r[_TIMEOUT]]


def running_runs(reads: Reads, flow_name: str | None) -> list[StoredRow]:
    """The running runs (of one flow, or of all), on ``runs (flow_pk, status, pk)`` or
    ``runs (status, pk)``: the candidates for the lost-run rule before a status search.
    Their rows hold the first columns of a run's record, as stored."""
    stmt: Any = _RUNNING
    if flow_name is not None:
        # The flow's key as a value, not a subquery: see search.find_runs_stmt.
        key = find_flow_pk(reads, flow_name)
        if key is None:
            return []
        stmt = _running_in_flow(key)
    return reads.all(stmt)


_RUNNING = sa.select(*run_record_columns()[: _TIMEOUT + 1]).where(
    runs.c.status == str(Status.RUNNING)
)


@functools.lru_cache(maxsize=64)
def _running_in_flow(flow_key: int) -> Any:
    return _RUNNING.where(runs.c.flow_pk == sa.literal(flow_key, literal_execute=True))


def reap_lost(conn: Connection, rows: Sequence[StoredRow]) -> None:
    """Record the given silent runs ``lost``, unless their writer spoke meanwhile; the run
    finished when it was last heard of."""
    unfinished = (str(Status.RUNNING), str(Status.PENDING))
    for row in rows:
        run_pk = row[_PK]
        last_heard = from_epoch_ms(row[_HEARTBEAT])
        reaped = conn.execute(
            sa.update(runs)
            .where(
                runs.c.pk == run_pk,
                runs.c.status == str(Status.RUNNING),
                runs.c.heartbeat_at == last_heard,
            )
            .values(status=str(Status.LOST), finished_at=last_heard)
        )
        if reaped.rowcount != 1:
            continue
        # Nobody is left to finish its tasks and attempts either: they are lost with it,
        # so that nothing reads running forever.
        of_run = sa.select(tasks.c.pk).where(tasks.c.run_pk == run_pk).scalar_subquery()
        conn.execute(
            sa.update(attempts)
            .where(attempts.c.task_pk.in_(of_run), attempts.c.status.in_(unfinished))
            .values(status=str(Status.LOST), finished_at=last_heard)
        )
        conn.execute(
            sa.update(tasks)
            .where(tasks.c.run_pk == run_pk, tasks.c.status.in_(unfinished))
            .values(status=str(Status.LOST), finished_at=last_heard)
        )


def set_run_status(conn: Connection, run: Pathspec, status: Status, at: datetime) -> RunRecord:
    """Record a run's new status (no-op when unchanged), checked against the table."""
    row = run_row(conn, run, for_update=True)
    current = Status(row.status)
    if current != status:
        check_transition(str(run), current, status)
        conn.execute(
            sa.update(runs)
            .where(runs.c.pk == row.pk)
            .values(
                status=str(status),
                finished_at=at if status.finished else None,
                heartbeat_at=at if status is Status.RUNNING else from_epoch_ms(row.heartbeat_at),
            )
        )
        row = run_row(conn, run)
    return load_runs([row])[0]


def heartbeat(conn: Connection, run: Pathspec, at: datetime) -> RunRecord:
    """Record the writer's heartbeat; the run must be running."""
    row = run_row(conn, run, for_update=True)
    if row.status != Status.RUNNING:
        raise InvalidTransition(
            f"run {run} is {row.status}, not running: its heartbeat is refused (record the "
            f"run's real status with set_run_status)",
            details={"pathspec": str(run), "current": row.status},
        )
    conn.execute(
        sa.update(runs)
        .where(runs.c.pk == row.pk)
        .values(heartbeat_at=max(at, from_epoch_ms(row.heartbeat_at)))
    )
    return load_runs([run_row(conn, run)])[0]


# -- tags --------------------------------------------------------------------------------


def _current_tags(conn: Connection, run_pk: int) -> tuple[set[str], set[str]]:
    user: set[str] = set()
    system: set[str] = set()
    for r in conn.execute(
        sa.select(run_tags.c.tag, run_tags.c.is_system).where(run_tags.c.run_pk == run_pk)
    ):
        (system if r.is_system else user).add(r.tag)
    return user, system


def _write_tag_list(conn: Connection, run_pk: int, user: set[str], system: set[str]) -> None:
    """Keep the run's ``tag_list`` column equal to its ``run_tags`` rows."""
    conn.execute(
        sa.update(runs)
        .where(runs.c.pk == run_pk)
        .values(tag_list=codec.encode_tag_list(user, system))
    )


_COUNT_KEY = ("flow_pk", "namespace", "tag")
_COUNTED = sa.and_(
    tag_counts.c.flow_pk == sa.bindparam("k_flow"),
    tag_counts.c.namespace == sa.bindparam("k_namespace"),
    tag_counts.c.tag == sa.bindparam("k_tag"),
)
_SUBTRACT = (
    sa.update(tag_counts).where(_COUNTED).values(runs=tag_counts.c.runs - sa.bindparam("k_runs"))
)
_DROP_EMPTY = sa.delete(tag_counts).where(_COUNTED, tag_counts.c.runs <= 0)


def _count_tags(
    conn: Connection, flow_key: int, system: Iterable[str], tags: Iterable[str], delta: int
) -> None:
    """Add ``delta`` (1 or -1) to the counts of ``tags`` on a run of flow ``flow_key`` whose
    system tags are ``system``: in all runs, and in the namespace of each system tag.

    The rows are written in key order, so that transactions counting the same tags lock
    them in one order and never deadlock; a count that reaches zero is deleted."""
    tags = sorted(tags)
    keys = [(ALL_RUNS, t) for t in tags] + [(s, t) for s in sorted(system) for t in tags]
    if not keys:
        return
    keys.sort()
    if delta > 0:
        conn.execute(
            insert_or_add(conn, tag_counts, _COUNT_KEY, "runs"),
            [{"flow_pk": flow_key, "namespace": n, "tag": t, "runs": delta} for n, t in keys],
        )
        return
    rows = [{"k_flow": flow_key, "k_namespace": n, "k_tag": t, "k_runs": -delta} for n, t in keys]
    conn.execute(_SUBTRACT, rows)
    conn.execute(_DROP_EMPTY, [{k: v for k, v in r.items() if k != "k_runs"} for r in rows])


def rebuild_tag_summaries(conn: Connection) -> None:
    """Rebuild what the store derives from ``run_tags``, the counts of ``tag_counts`` and
    each run's ``tag_list``: for a history whose tag rows were inserted by other means than
    the store (a bulk load), as migrations 0004 and 0005 fill them."""
    own = run_tags.alias("own")
    kind = sa.case((own.c.is_system, sa.literal_column("'s'")), else_=sa.literal_column("'u'"))
    listed = sa.select(unit_joined(kind + own.c.tag)).where(own.c.run_pk == runs.c.pk)
    conn.execute(sa.update(runs).values(tag_list=sa.func.coalesce(listed.scalar_subquery(), "")))
    ns, t = run_tags.alias("ns"), run_tags.alias("t")
    every = sa.select(
        run_tags.c.flow_pk, sa.literal(ALL_RUNS), run_tags.c.tag, sa.func.count()
    ).group_by(run_tags.c.flow_pk, run_tags.c.tag)
    in_namespaces = (
        sa.select(t.c.flow_pk, ns.c.tag, t.c.tag, sa.func.count())
        .select_from(ns.join(t, t.c.run_pk == ns.c.run_pk))
        .where(ns.c.is_system)
        .group_by(t.c.flow_pk, ns.c.tag, t.c.tag)
    )
    conn.execute(sa.delete(tag_counts))
    conn.execute(
        sa.insert(tag_counts).from_select(
            ["flow_pk", "namespace", "tag", "runs"], sa.union_all(every, in_namespaces)
        )
    )


def remove_tags(conn: Connection, run: Pathspec, tags: Iterable[str]) -> None:
    """Remove user tags; a system tag is an error, an absent tag a no-op."""
    wanted = {validate_tag(t) for t in tags}
    row = run_row(conn, run, for_update=True)
    user, system = _current_tags(conn, row.pk)
    protected = sorted(wanted & system)
    if protected:
        raise InvalidTag(
            f"{protected[0]!r} is a system tag of run {run}; system tags cannot be removed",
            details={"tag": protected[0], "pathspec": str(run)},
        )
    if wanted:
        conn.execute(
            sa.delete(run_tags).where(
                run_tags.c.run_pk == row.pk,
                run_tags.c.tag.in_(sorted(wanted)),
                run_tags.c.is_system.is_(False),
            )
        )
        _count_tags(conn, row.flow_pk, system, wanted & user, -1)
        _write_tag_list(conn, row.pk, user - wanted, system)


def add_tags(conn: Connection, run: Pathspec, tags: Iterable[str]) -> None:
    """Add user tags; tags the run has already (user or system) are skipped silently."""
    wanted = {validate_new_tag(t) for t in tags}
    row = run_row(conn, run, for_update=True)
    user, system = _current_tags(conn, row.pk)
    new = wanted - user - system
    reserved = sorted(t for t in new if is_system_tag(t))
    if reserved:
        raise InvalidTag(
            f"tag {reserved[0]!r} uses a prefix reserved for system tags; choose another "
            f"prefix, e.g. 'my-{reserved[0]}'",
            details={"tag": reserved[0]},
        )
    check_user_tag_count(len(user) + len(new))
    if new:
        conn.execute(
            sa.insert(run_tags),
            [
                {"run_pk": row.pk, "tag": t, "is_system": False, "flow_pk": row.flow_pk}
                for t in sorted(new)
            ],
        )
        _count_tags(conn, row.flow_pk, system, new, 1)
        _write_tag_list(conn, row.pk, user | new, system)


def find_tags_stmt(
    flow_pk: int | None,
    prefix: str | None,
    after: str | None,
    limit: int,
    namespace: str | None = None,
) -> Any:
    """The statement behind ``find_tags``: tags in code point order with their run counts.

    Without a namespace, or in the namespace of a system tag (the client's ``user:alice``),
    the counts are read from ``tag_counts``: a page of its primary key ``(flow_pk,
    namespace, tag)`` for one flow, or of ``(namespace, tag, flow_pk)`` summed over the
    flows for all. A prefix is a range of that index (never ``LIKE``). In the namespace of a
    user tag (not counted ahead), the runs carrying it are counted: see
    :func:`_tags_in_user_namespace`. ``flow_pk`` is written into the SQL text, as in
    ``find_runs_stmt``."""
    if namespace is not None and not is_system_tag(namespace):
        return _tags_in_user_namespace(flow_pk, prefix, after, limit, namespace)
    counts = tag_counts.c
    within = counts.namespace == (ALL_RUNS if namespace is None else namespace)
    if flow_pk is not None:
        stmt = sa.select(counts.tag, counts.runs).where(
            counts.flow_pk == sa.literal(flow_pk, literal_execute=True), within
        )
    else:
        total = sa.cast(sa.func.sum(counts.runs), sa.BigInteger).label("runs")
        stmt = sa.select(counts.tag, total).where(within).group_by(counts.tag)
    if prefix:
        stmt = stmt.where(prefix_range(counts.tag, prefix))
    if after is not None:
        stmt = stmt.where(counts.tag > after)
    return stmt.order_by(counts.tag).limit(limit)


def _tags_in_user_namespace(
    flow_pk: int | None, prefix: str | None, after: str | None, limit: int, namespace: str
) -> Any:
    """Tags counted over the runs carrying the user tag ``namespace``: the tag rows on
    ``run_tags (flow_pk, tag, run_pk)`` for one flow or ``(tag, run_pk)`` for all, in tag
    order, each run looked up in the namespace by the primary key ``(run_pk, tag)``."""
    within = run_tags.alias("within")
    stmt = (
        sa.select(run_tags.c.tag, sa.func.count().label("runs"))
        .join(within, sa.and_(within.c.run_pk == run_tags.c.run_pk, within.c.tag == namespace))
        .group_by(run_tags.c.tag)
    )
    if flow_pk is not None:
        stmt = stmt.where(run_tags.c.flow_pk == sa.literal(flow_pk, literal_execute=True))
    if prefix:
        stmt = stmt.where(prefix_range(run_tags.c.tag, prefix))
    if after is not None:
        stmt = stmt.where(run_tags.c.tag > after)
    return stmt.order_by(run_tags.c.tag).limit(limit)


def find_tags(
    reads: Reads,
    flow_name: str | None,
    prefix: str | None,
    page: PageRequest,
    namespace: str | None = None,
) -> Page[TagCount]:
    """Tags by tag with the number of runs carrying each (of one flow, or of all), read from
    the counts ``tag_counts`` keeps (:func:`find_tags_stmt`)."""
    after = decode_cursor("tags", page.cursor, (str,))
    key = None
    if flow_name is not None:
        key = find_flow_pk(reads, flow_name)
        if key is None:
            return Page(())
    stmt = find_tags_stmt(key, prefix, after[0] if after else None, page.limit + 1, namespace)
    rows = reads.all(stmt)
    return page_of("tags", rows, page.limit, lambda r: [r[0]], lambda r: TagCount(r[0], int(r[1])))


def delete_run(conn: Connection, run: Pathspec) -> None:
    """Delete a run that is not running or pending; its rows in every other table go with
    it (each foreign key cascades)."""
    row = run_row(conn, run, for_update=True)
    if row.status in (Status.RUNNING, Status.PENDING):
        raise InvalidTransition(
            f"run {run} is {row.status}: it cannot be deleted while it may still be written "
            f"(record it cancelled first, or wait until it ends or is recorded lost)",
            details={"pathspec": str(run), "current": row.status},
        )
    user, system = _current_tags(conn, row.pk)
    _count_tags(conn, row.flow_pk, system, user | system, -1)
    conn.execute(sa.delete(runs).where(runs.c.pk == row.pk))
