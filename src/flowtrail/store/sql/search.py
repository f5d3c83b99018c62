"""``find_runs`` in SQL: the conditions of a :class:`RunFilter`, its order, and keyset pages.

Three plans, each one statement per page (two at the seam of the second):

* **Newest first** (no ``order_by``): keyset on the run key. A tag the filter requires (in
  ``tags`` or as ``tag = 'x'`` at the top level of ``where``) drives the query through
  ``run_tags (tag, flow_pk, run_pk)`` or ``(tag, run_pk)``, in key order, so only runs
  carrying it are visited; otherwise ``runs (flow_pk, pk)`` or the primary key is walked.
* **One parameter** (``order_by=("-params.alpha",)``): runs having a numeric value of it come
  first, walked in order on ``run_params (flow_pk, name, value_num, run_pk)`` or ``(name,
  value_num, run_pk)``; then the runs lacking one, by run key.
* **Any other order**: ``ORDER BY`` the keys (missing values last), then the run key, with a
  keyset condition on all of them. ``created_at`` and ``status`` have indexes that give the
  order; the others sort the runs that match.

A cursor carries the sort values of the last run of its page and that run's key, and names
its order: a cursor of one order is refused by another.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

import sqlalchemy as sa

from flowtrail.errors import InvalidArgument
from flowtrail.model import FieldKind, OrderKey, RunFilter, WhereExpr
from flowtrail.store.sql.dialects import binary_text
from flowtrail.store.sql.lookup import (
    RECORD_WIDTH,
    find_flow_pk,
    record_columns,
    run_record_columns,
)
from flowtrail.store.sql.paging import decode_cursor, encode_cursor
from flowtrail.store.sql.reads import Reads
from flowtrail.store.sql.reads import Row as StoredRow
from flowtrail.store.sql.schema import ALL_RUNS, run_params, run_tags, runs, tag_counts
from flowtrail.store.sql.where import (
    Condition,
    compile_where,
    duration_ms,
    raw_ms,
    required_user,
    split_tag_conditions,
    value_source,
)

__all__ = ["find_runs", "find_runs_stmt", "find_runs_stmts"]

_NONE = type(None)


@dataclass(frozen=True)
class _Sort:
    """One column of an order: its expression, direction, and the cursor's element type."""

    expr: Any
    descending: bool
    nullable: bool
    shape: tuple[type, ...]


def find_runs(
    reads: Reads, filter: RunFilter, limit: int, cursor: str | None
) -> tuple[list[StoredRow], str | None]:
    """The rows of one page of ``find_runs`` (rows of a run's record as stored, followed by
    the sort values) and the cursor of the next page."""
    sorts = _sorts(filter.order_keys)
    listing = _listing(filter)
    shape: tuple[tuple[type, ...], ...] = (*(s.shape for s in sorts), (int,))
    after = decode_cursor(listing, cursor, shape)
    flow_key = None
    if filter.flow_name is not None:
        flow_key = find_flow_pk(reads, filter.flow_name)
        if flow_key is None:
            return [], None
    driver = _driver(reads, filter, flow_key) if not filter.order_keys else _first_tag(filter)
    first = _first_page_stmt(
        filter, None if after is None else tuple(after), flow_key, limit + 1, driver
    )
    rows = reads.all(first)
    if len(rows) <= limit and _by_one_parameter(filter):
        # At the seam of a one-parameter order: the runs lacking a value follow.
        rest = find_runs_stmts(filter, after, flow_key)
        next(rest)  # the first statement, read above
        for stmt in rest:
            rows += reads.all(stmt.limit(limit + 1 - len(rows)))
            if len(rows) > limit:
                break
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    key = [last[RECORD_WIDTH + i] for i in range(len(sorts))] + [last[0]]
    return rows[:limit], encode_cursor(listing, key)


@functools.lru_cache(maxsize=256)
def _first_page_stmt(
    filter: RunFilter,
    after: tuple[Any, ...] | None,
    flow_pk: int | None,
    limit: int,
    driver: str | None,
) -> Any:
    """The first statement of a page, memoized on everything it is built from (statements
    are immutable). A query asked again (the latest run of a flow, the first page of a
    search a dashboard repeats) reuses the statement and its compiled form at once;
    building both is a third of a page's time in Python otherwise."""
    stmts = find_runs_stmts(filter, None if after is None else list(after), flow_pk, driver)
    return next(iter(stmts)).limit(limit)


@functools.lru_cache(maxsize=256)
def _tag_runs(tags: tuple[str, ...], flow_pk: int | None) -> Any:
    """How many runs (of one flow, or of all) carry each of ``tags``: memoized with its
    values in it, so that a search asked again finds it compiled."""
    stmt = (
        sa.select(tag_counts.c.tag, sa.func.sum(tag_counts.c.runs))
        .where(tag_counts.c.namespace == ALL_RUNS, tag_counts.c.tag.in_(tags))
        .group_by(tag_counts.c.tag)
    )
    return stmt if flow_pk is None else stmt.where(tag_counts.c.flow_pk == flow_pk)


def _required_tags(filter: RunFilter) -> tuple[list[str], WhereExpr | None]:
    """The tags a search requires (``tags``, and ``tag = 'x'`` at the top level of its
    ``where``), in name order, and the rest of its ``where``."""
    hoisted, rest = split_tag_conditions(filter.where_expr)
    return sorted(set(filter.tags) | set(hoisted)), rest


def _first_tag(filter: RunFilter) -> str | None:
    tags, _ = _required_tags(filter)
    return tags[0] if tags else None


def _driver(reads: Reads, filter: RunFilter, flow_pk: int | None) -> str | None:
    """What drives a newest-first search that requires tags: the tag with the fewest runs
    (its ``run_tags`` rows are walked, the rest probed per run), or ``None`` when the user
    it requires has fewer runs still (``runs (flow_pk, user_name, pk, created_at)`` is
    walked and each run's tags are probed by key).

    The counts are ``tag_counts``' (a user's runs are those carrying the system tag
    ``user:<name>``): one indexed statement, made only when there is a choice. Each walk
    reads until its page is full, so the smaller set to walk is the cheaper one: a common
    tag with a user was read tag row by tag row, several times the runs of the user.
    """
    tags, rest = _required_tags(filter)
    user = filter.user if filter.user is not None else required_user(rest)
    if not tags or (len(tags) == 1 and user is None):
        return tags[0] if tags else None
    user_tag = None if user is None else f"user:{user}"
    names = tuple(sorted({*tags, *([user_tag] if user_tag else [])}))
    counts = {tag: int(runs or 0) for tag, runs in reads.all(_tag_runs(names, flow_pk))}
    rarest = min(tags, key=lambda t: (counts.get(t, 0), t))
    if user_tag is not None and counts.get(user_tag, 0) < counts.get(rarest, 0):
        return None
    return rarest


def find_runs_stmt(
    filter: RunFilter,
    limit: int,
    after: int | Sequence[Any] | None,
    flow_pk: int | None = None,
    *,
    driver: str | EllipsisType | None = ...,
) -> Any:
    """The first statement of a page of ``find_runs`` (the one whose plan matters: a second
    one runs only at the seam of a one-parameter order).

    Args:
        filter: The filter.
        limit: The number of rows to read.
        after: The cursor's key: the run key of the last run read, or (with ``order_by``)
            its sort values then its run key.
        flow_pk: The key of ``filter.flow_name``, looked up first: it is written into the SQL
            text, so that PostgreSQL plans each flow's query with that flow's statistics (a
            flow with few runs among many would otherwise be searched through every run).
        driver: What drives a newest-first search that requires tags (see
            :func:`find_runs`): a tag, or ``None`` for the runs' own indexes; by default the
            first required tag.
    """
    key = [after] if isinstance(after, int) else None if after is None else list(after)
    return next(iter(find_runs_stmts(filter, key, flow_pk, driver))).limit(limit)


def find_runs_stmts(
    filter: RunFilter,
    after: list[Any] | None,
    flow_pk: int | None,
    driver: str | EllipsisType | None = ...,
) -> Iterator[Any]:
    """The statements that read a page in order, without their limit: one, or two for a
    one-parameter order (its runs with a numeric value, then those without). ``driver`` as
    for :func:`find_runs_stmt`."""
    if filter.flow_name is not None and flow_pk is None:
        raise InvalidArgument("find_runs_stmt needs the flow's key when the filter names a flow")
    flow_key = None if flow_pk is None else sa.literal(flow_pk, literal_execute=True)
    keys = filter.order_keys
    chosen = _first_tag(filter) if driver is ... else driver
    if not keys:
        yield _by_run_key(
            filter, flow_key, after[0] if after else None, descending=True, driver=chosen
        )
    elif _by_one_parameter(filter):
        yield from _by_one_param(filter, flow_key, keys[0], after)
    else:
        yield _by_sort_keys(filter, flow_key, _sorts(keys), after)


def _by_one_parameter(filter: RunFilter) -> bool:
    """Whether the filter orders by one parameter: the one plan of two statements."""
    keys = filter.order_keys
    return len(keys) == 1 and keys[0].field.kind is FieldKind.PARAMS


# -- the three plans ---------------------------------------------------------------------


def _by_run_key(
    filter: RunFilter,
    flow_key: Any,
    after: int | None,
    *,
    descending: bool,
    extra: Sequence[Condition] = (),
    sort_null: bool = False,
    driver: str | None,
) -> Any:
    tags, rest = _required_tags(filter)
    # The conditions test ``runs``; the page's records are read from a second instance of
    # it, joined by key. The planner can then find the matching keys in indexes alone
    # (``runs (flow_pk, user_name, pk, created_at)`` beside ``run_tags (flow_pk, tag,
    # run_pk)``) and read only the page's rows from the table, instead of reading the table
    # newest first and discarding each row that fails a condition (a time window that
    # excludes the newest runs discarded tens of thousands).
    record = runs.alias("page_run")
    columns: list[Any] = record_columns(record, filter.flow_name)
    columns += [sa.null().label("sort_0")] if sort_null else []
    other = run_tags.alias("other_tag")
    if driver is not None:
        # The driving tag's rows, in key order: only runs carrying it are visited.
        key = run_tags.c.run_pk
        stmt = (
            sa.select(*columns)
            .select_from(
                run_tags.join(runs, runs.c.pk == run_tags.c.run_pk).join(
                    record, record.c.pk == run_tags.c.run_pk
                )
            )
            .where(run_tags.c.tag == driver)
        )
        if flow_key is not None:
            # on both tables: each of their flow-first indexes can serve
            stmt = stmt.where(run_tags.c.flow_pk == flow_key, runs.c.flow_pk == flow_key)
    else:
        # The runs' own indexes drive (``runs (flow_pk, pk)``, or a user's runs); each
        # required tag is probed in ``run_tags (run_pk, tag)``.
        key = runs.c.pk
        stmt = sa.select(*columns).select_from(runs.join(record, record.c.pk == runs.c.pk))
        if flow_key is not None:
            stmt = stmt.where(runs.c.flow_pk == flow_key)
    for tag in tags:
        if tag != driver:
            stmt = stmt.where(sa.exists().where(other.c.run_pk == key, other.c.tag == tag))
    stmt = stmt.where(*_run_conditions(filter), *extra)
    if rest is not None:
        stmt = stmt.where(compile_where(rest))
    if after is not None:
        stmt = stmt.where(key < after if descending else key > after)
    return stmt.order_by(key.desc() if descending else key.asc())


def _by_one_param(
    filter: RunFilter, flow_key: Any, order: OrderKey, after: list[Any] | None
) -> Iterator[Any]:
    name, descending = order.field.name, order.descending
    if after is None or after[0] is not None:
        param = run_params.alias("sort_param")
        stmt = (
            sa.select(*run_record_columns(filter.flow_name), param.c.value_num.label("sort_0"))
            .select_from(param.join(runs, runs.c.pk == param.c.run_pk))
            .where(param.c.name == name, param.c.value_num.is_not(None))
        )
        if flow_key is not None:
            stmt = stmt.where(param.c.flow_pk == flow_key)
        stmt = stmt.where(*_tag_conditions(filter), *_run_conditions(filter))
        if filter.where_expr is not None:
            stmt = stmt.where(compile_where(filter.where_expr))
        sort = _Sort(param.c.value_num, descending, nullable=False, shape=())
        run_key = _Sort(param.c.run_pk, descending, nullable=False, shape=())
        if after is not None:
            stmt = stmt.where(_after([sort, run_key], after))
        yield stmt.order_by(*_order(sort), *_order(run_key))
    numeric = run_params.alias("has_param")
    lacking = ~sa.exists().where(
        numeric.c.run_pk == runs.c.pk, numeric.c.name == name, numeric.c.value_num.is_not(None)
    )
    yield _by_run_key(
        filter,
        flow_key,
        after[1] if after is not None and after[0] is None else None,
        descending=descending,
        extra=[lacking],
        sort_null=True,
        driver=_first_tag(filter),
    )


def _by_sort_keys(
    filter: RunFilter, flow_key: Any, sorts: list[_Sort], after: list[Any] | None
) -> Any:
    columns = [s.expr.label(f"sort_{i}") for i, s in enumerate(sorts)]
    stmt = sa.select(*run_record_columns(filter.flow_name), *columns)
    if flow_key is not None:
        stmt = stmt.where(runs.c.flow_pk == flow_key)
    stmt = stmt.where(*_tag_conditions(filter), *_run_conditions(filter))
    if filter.where_expr is not None:
        stmt = stmt.where(compile_where(filter.where_expr))
    run_key = _Sort(runs.c.pk, sorts[-1].descending, nullable=False, shape=())
    if after is not None:
        stmt = stmt.where(_after([*sorts, run_key], after))
    return stmt.order_by(*(o for s in [*sorts, run_key] for o in _order(s)))


# -- conditions, orders and keysets --------------------------------------------------------


def _run_conditions(filter: RunFilter) -> list[Condition]:
    conditions: list[Condition] = []
    if filter.statuses:
        statuses = sorted(str(s) for s in filter.statuses)
        conditions.append(
            runs.c.status == statuses[0] if len(statuses) == 1 else runs.c.status.in_(statuses)
        )
    if filter.user is not None:
        conditions.append(runs.c.user_name == filter.user)
    if filter.created_after is not None:
        conditions.append(runs.c.created_at >= filter.created_after)
    if filter.created_before is not None:
        conditions.append(runs.c.created_at < filter.created_before)
    return conditions


def _tag_conditions(filter: RunFilter) -> list[Condition]:
    conditions: list[Condition] = []
    for tag in sorted(filter.tags):
        probe = run_tags.alias()
        conditions.append(sa.exists().where(probe.c.run_pk == runs.c.pk, probe.c.tag == tag))
    return conditions


def _sorts(keys: Sequence[OrderKey]) -> list[_Sort]:
    sorts: list[_Sort] = []
    for key in keys:
        kind, down = key.field.kind, key.descending
        if kind is FieldKind.CREATED_AT:
            sorts.append(_Sort(raw_ms(runs.c.created_at), down, False, (int,)))
        elif kind is FieldKind.FINISHED_AT:
            sorts.append(_Sort(raw_ms(runs.c.finished_at), down, True, (int, _NONE)))
        elif kind is FieldKind.DURATION:
            sorts.append(_Sort(duration_ms(), down, True, (int, _NONE)))
        elif kind is FieldKind.STATUS:
            sorts.append(_Sort(runs.c.status, down, False, (str,)))
        elif kind is FieldKind.USER:
            sorts.append(_Sort(binary_text(runs.c.user_name), down, True, (str, _NONE)))
        elif kind is FieldKind.RUN_ID:
            # automatic ids in numeric order, then chosen ids as text
            sorts.append(_Sort(runs.c.run_number, down, True, (int, _NONE)))
            sorts.append(_Sort(binary_text(runs.c.run_id), down, False, (str,)))
        else:
            sorts.append(_Sort(_value_of(key), down, True, (float, int, _NONE)))
    return sorts


def _value_of(key: OrderKey) -> Any:
    """A run's numeric value of ``params.x``, ``metadata.x`` or ``data.x``: the largest of
    its values in a descending order, the smallest in an ascending one."""
    table, name_column, extra = value_source(key.field.kind)
    pick = sa.func.max if key.descending else sa.func.min
    return (
        sa.select(pick(table.c.value_num))
        .where(table.c.run_pk == runs.c.pk, table.c[name_column] == key.field.name, *extra(table))
        .scalar_subquery()
    )


def _order(sort: _Sort) -> list[Any]:
    ordered = sort.expr.desc() if sort.descending else sort.expr.asc()
    return [ordered.nulls_last() if sort.nullable else ordered]


def _after(sorts: list[_Sort], values: Sequence[Any]) -> Condition:
    """Rows after ``values`` in the order of ``sorts`` (missing values last): a row is after
    when it equals the cursor on the first keys and is after it on the next one. The first
    key's bound is repeated alone, so that an index range starts at the cursor."""
    alternatives: list[Condition] = []
    equal: list[Condition] = []
    for sort, value in zip(sorts, values, strict=True):
        if value is not None:
            beyond = sort.expr < value if sort.descending else sort.expr > value
            if sort.nullable:
                beyond = sa.or_(beyond, sort.expr.is_(None))
            alternatives.append(sa.and_(*equal, beyond))
        equal.append(sort.expr.is_(None) if value is None else sort.expr == value)
    condition = sa.or_(*alternatives) if alternatives else sa.false()
    first, value = sorts[0], values[0]
    if first.nullable or value is None:
        return condition
    bound = first.expr <= value if first.descending else first.expr >= value
    return sa.and_(bound, condition)


def _listing(filter: RunFilter) -> str:
    return "runs" if not filter.order_by else f"runs by {','.join(filter.order_by)}"
