"""``Flow``: every run recorded under one flow name, newest first."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from flowtrail.client.base import ClientObject, Container, Context, paged
from flowtrail.errors import InvalidArgument, InvalidPathspec, NamespaceMismatch
from flowtrail.model import FlowRecord, Level, MetadataValue, PageRequest, RunFilter, Status

if TYPE_CHECKING:
    from flowtrail.client.run import Run

__all__ = [
    "Flow",
    "check_flow_namespace",
    "find_runs",
    "flow_in_namespace",
    "run_filter",
    "tag_counts",
]


def run_filter(
    ctx: Context,
    flow_name: str | None,
    tags: Iterable[str] = (),
    *,
    statuses: Iterable[Status] = (),
    where: str | None = None,
    order_by: str | Sequence[str] | None = None,
) -> RunFilter:
    """The store filter for runs with all of ``tags`` in the context's namespace.

    Raises:
        InvalidTag: a tag is malformed.
        InvalidQuery: ``where`` or ``order_by`` does not parse.
    """
    wanted = set(tags)
    if ctx.namespace is not None:
        wanted.add(ctx.namespace)
    keys = (order_by,) if isinstance(order_by, str) else tuple(order_by or ())
    return RunFilter(flow_name, frozenset(wanted), frozenset(statuses), where=where, order_by=keys)


def flow_in_namespace(ctx: Context, flow_name: str) -> bool:
    """Whether the flow has a run in the context's namespace (always, with no namespace).

    A flow is in a namespace when at least one of its runs carries the namespace tag, as in
    Metaflow. The answer is one indexed query for the newest such run, a page of one: the
    flow's runs are never walked.
    """
    if ctx.namespace is None:
        return True
    filter = RunFilter(flow_name, frozenset({ctx.namespace}))
    return bool(ctx.store.find_runs(filter, PageRequest(1)).items)


def check_flow_namespace(ctx: Context, flow_name: str) -> None:
    """Raise :class:`NamespaceMismatch` unless :func:`flow_in_namespace`; the message says
    how to switch."""
    if flow_in_namespace(ctx, flow_name):
        return
    assert ctx.namespace is not None
    raise NamespaceMismatch(
        f"Flow({flow_name!r}) is not in the current namespace {ctx.namespace!r} (none of its "
        f"runs is tagged {ctx.namespace!r}); call namespace(None) to see every run, "
        f"namespace('user:<name>') for another user's runs, or pass _namespace_check=False",
        details={"pathspec": flow_name, "namespace": ctx.namespace},
    )


def tag_counts(ctx: Context, flow_name: str | None, prefix: str | None) -> dict[str, int]:
    """Each distinct tag of the runs in the context's namespace with the number of those
    runs carrying it, ordered by tag, read one page at a time."""
    counts = paged(
        lambda page: ctx.store.find_tags(flow_name, prefix, page, namespace=ctx.namespace), 1000
    )
    return {count.tag: count.runs for count in counts}


def find_runs(ctx: Context, filter: RunFilter, limit: int | None) -> Iterator[Run]:
    """The runs matching ``filter``, newest first (the store's order unless the filter
    orders them), at most ``limit`` of them, one page read at a time.

    Raises:
        InvalidArgument: ``limit`` is not ``None`` or an int from 0 to ``sys.maxsize`` (at
            the call, not at the first run).
    """
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= sys.maxsize
    ):
        raise InvalidArgument(
            f"limit must be None or an int from 0 to {sys.maxsize}, got {limit!r:.40}"
        )
    return _runs_of(ctx, filter, limit)


def _runs_of(ctx: Context, filter: RunFilter, limit: int | None) -> Iterator[Run]:
    from flowtrail.client.run import Run

    first = 20 if limit is None else max(1, min(limit, 100))
    records = paged(lambda page: ctx.store.find_runs(filter, page), first)
    for record in records if limit is None else islice(records, limit):
        yield Run._from_record(ctx, record, listed=True)


class Flow(ClientObject, Container["Run"]):
    """A flow: all runs recorded under one name. A container of :class:`Run` objects,
    newest first, limited to the current namespace.

    A flow is in a namespace when at least one of its runs is: ``Flow('F')`` outside every
    namespace it has a run in raises :class:`~flowtrail.errors.NamespaceMismatch`, as the
    other levels do (``namespace(None)`` or ``_namespace_check=False`` reads it anyway).

    Args:
        pathspec: The flow name, ``'TrainFlow'``.

    Raises:
        NotFound: no flow of that name has been recorded.
        NamespaceMismatch: none of the flow's runs is in the current namespace.

    Example:
        ``Flow('TrainFlow').latest_run``, ``Flow('TrainFlow')['12']``,
        ``'12' in Flow('TrainFlow')``, ``list(Flow('TrainFlow').runs('prod'))``.
    """

    _level = Level.FLOW

    def _load(self, namespace_check: bool) -> None:
        self._record = self._store.get_flow(self._spec.flow)  # NotFound before a mismatch
        if namespace_check:
            check_flow_namespace(self._ctx, self._spec.flow)

    @classmethod
    def _from_record(cls, ctx: Context, record: FlowRecord) -> Flow:
        flow = cls.__new__(cls)
        flow._init(ctx, record.pathspec)
        flow._record = record
        return flow

    @property
    def created_at(self) -> datetime:
        """When the flow was first recorded."""
        return self._record.created_at

    @property
    def metadata(self) -> Mapping[str, MetadataValue]:
        """The flow metadata of the latest run's definition (``class F(FlowSpec,
        metadata={...})``): name to typed value (``.type``, ``.value``)."""
        return dict(self._record.metadata)

    @property
    def parent(self) -> None:
        """A flow has no parent."""
        return None

    @property
    def latest_run(self) -> Run | None:
        """The newest run in the namespace (running, finished, successful or not), or
        ``None``."""
        return next(self._runs(limit=1), None)

    @property
    def latest_successful_run(self) -> Run | None:
        """The newest successful run in the namespace, or ``None``."""
        return next(self._runs(limit=1, statuses=(Status.SUCCEEDED,)), None)

    def runs(
        self,
        *tags: str,
        where: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
    ) -> Iterator[Run]:
        """The runs of this flow in the namespace that carry every tag given, newest first.

        Args:
            *tags: Tags the runs must all carry (user or system tags).
            where: A search condition (see the search reference), such as
                ``"params.alpha > 0.1 and status = 'succeeded'"``.
            order_by: Sort keys, each a field with ``-`` in front for descending order
                (``'-params.alpha'``, or several in a sequence); newest first without.
            limit: At most this many runs; all of them when ``None``.

        Returns:
            An iterator that reads the runs one page at a time.
        """
        return self._runs(*tags, where=where, order_by=order_by, limit=limit)

    def _runs(
        self,
        *tags: str,
        statuses: Sequence[Status] = (),
        where: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
    ) -> Iterator[Run]:
        filter = run_filter(
            self._ctx, self._spec.flow, tags, statuses=statuses, where=where, order_by=order_by
        )
        return find_runs(self._ctx, filter, limit)

    def _children(self) -> Iterator[Run]:
        return self._runs()

    def __contains__(self, name: object) -> bool:
        """Whether the flow has a run of that id in the namespace: one lookup by key, which
        builds no record (``'12' in Flow('F')``)."""
        if not isinstance(name, str):
            return False
        try:
            run = self._spec.child(name)
        except InvalidPathspec:
            return False
        return self._store.run_exists(run, namespace=self._ctx.namespace)

    def _child(self, name: str) -> Run:
        from flowtrail.client.run import Run

        record = self._store.get_run(self._spec.child(name))
        run = Run._from_record(self._ctx, record)
        self._ctx.check(run, record)
        return run

    def tags(self, prefix: str | None = None) -> dict[str, int]:
        """Each distinct tag of this flow's runs in the namespace (user and system tags),
        ordered by tag, with the number of those runs carrying it (every run of the flow with
        ``namespace(None)``).

        Args:
            prefix: Only tags starting with this (``'team:'``).
        """
        return tag_counts(self._ctx, self._spec.flow, prefix)
