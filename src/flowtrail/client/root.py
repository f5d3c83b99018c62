"""``Flowtrail``: the entry point to every flow of a metadata provider (Metaflow's
``Metaflow()``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from flowtrail.client.base import (
    UNSET,
    Container,
    Context,
    paged,
    pickled_settings,
    unpickled_provider,
)
from flowtrail.client.flow import (
    Flow,
    check_flow_namespace,
    find_runs,
    flow_in_namespace,
    run_filter,
    tag_counts,
)
from flowtrail.config import Settings
from flowtrail.model import Level, Pathspec

if TYPE_CHECKING:
    from flowtrail.client.provider import Provider
    from flowtrail.client.run import Run

__all__ = ["Flowtrail"]


class Flowtrail(Container[Flow]):
    """Every flow known to the metadata provider that has a run in the current namespace.

    Iterating over it (or :attr:`flows`) yields :class:`Flow` objects by name;
    ``Flowtrail()['TrainFlow']`` is ``Flow('TrainFlow')``.

    Args:
        provider: Read through this provider (or these settings) instead of the current one.
        _current_namespace: The namespace to use instead of the one in force.

    Example:
        ``[flow.id for flow in Flowtrail()]``, ``Flowtrail().runs('prod', limit=10)``.
    """

    def __init__(
        self,
        *,
        provider: Provider | Settings | None = None,
        _current_namespace: str | None = UNSET,
    ) -> None:
        self._ctx = Context.of(provider, _current_namespace)

    def __reduce__(self) -> tuple[Any, ...]:
        # As the other client objects: by its settings (no token) and namespace.
        return (_unpickle_root, (pickled_settings(self._ctx), self._ctx.namespace))

    @property
    def provider(self) -> Provider:
        """The metadata provider this object reads through."""
        return self._ctx.provider

    @property
    def flows(self) -> list[Flow]:
        """Every flow with at least one run in the current namespace, by name."""
        return list(self)

    def _children(self) -> Iterator[Flow]:
        for record in paged(self._ctx.store.find_flows):
            if flow_in_namespace(self._ctx, record.name):
                yield Flow._from_record(self._ctx, record)

    def _child(self, name: str) -> Flow:
        """``Flow(name)`` in this object's namespace: NotFound, or NamespaceMismatch when
        none of its runs is in the namespace."""
        record = self._ctx.store.get_flow(Pathspec.parse(name, Level.FLOW).flow)
        check_flow_namespace(self._ctx, record.name)
        return Flow._from_record(self._ctx, record)

    def runs(
        self,
        *tags: str,
        where: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
    ) -> Iterator[Run]:
        """The runs of every flow in the namespace that carry every tag given, newest first.

        Args:
            *tags: Tags the runs must all carry.
            where: A search condition, as for ``Flow.runs``.
            order_by: Sort keys, as for ``Flow.runs``; newest first without.
            limit: At most this many runs; all of them when ``None``.
        """
        filter = run_filter(self._ctx, None, tags, where=where, order_by=order_by)
        return find_runs(self._ctx, filter, limit)

    def tags(self, prefix: str | None = None) -> dict[str, int]:
        """Each distinct tag of the runs in the namespace, of every flow (user and system
        tags), ordered by tag, with the number of those runs carrying it (every run with
        ``namespace(None)``). One query a page.

        Args:
            prefix: Only tags starting with this (``'team:'``).
        """
        return tag_counts(self._ctx, None, prefix)

    def __repr__(self) -> str:
        return f"Flowtrail({self._ctx.provider.describe()!r})"


def _unpickle_root(settings: Settings, namespace: str | None) -> Flowtrail:
    return Flowtrail(provider=unpickled_provider(settings), _current_namespace=namespace)
