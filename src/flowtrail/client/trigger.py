"""``Trigger``: the events that started a run (``Run.trigger``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from flowtrail.errors import NotFound
from flowtrail.model import Level, Pathspec, TriggerEvent

if TYPE_CHECKING:
    from flowtrail.client.base import Context
    from flowtrail.client.run import Run

__all__ = ["Trigger"]


class Trigger:
    """The events that started a run, oldest first. Each event is a
    :class:`~flowtrail.model.TriggerEvent` with ``name``, ``id``, ``timestamp`` and ``type``
    (``'event'``, or ``'run'`` when another run triggered this one; its ``id`` is then that
    run's pathspec).

    Args:
        events: The run's trigger events, oldest first (at least one).
        ctx: The context the triggering runs are read through.
    """

    def __init__(self, events: Sequence[TriggerEvent], ctx: Context) -> None:
        self._events = tuple(events)
        self._ctx = ctx

    @property
    def event(self) -> TriggerEvent | None:
        """The latest event that triggered the run."""
        return self._events[-1] if self._events else None

    @property
    def events(self) -> list[TriggerEvent]:
        """Every event that triggered the run, oldest first."""
        return list(self._events)

    @property
    def run(self) -> Run | None:
        """The latest run among the triggering events, or ``None`` if no run triggered it."""
        runs = self.runs
        return runs[-1] if runs else None

    @property
    def runs(self) -> list[Run] | None:
        """The runs among the triggering events, oldest first; ``None`` if there are none."""
        runs = [self._run(event) for event in self._events if event.type == "run"]
        return runs or None

    def _run(self, event: TriggerEvent) -> Run:
        from flowtrail.client.run import Run

        if event.id is None:
            raise NotFound(f"the triggering run event {event.name!r} names no run")
        # A run that triggered this one is shown whatever namespace it is in.
        return Run(
            Pathspec.parse(event.id, Level.RUN),
            provider=self._ctx.provider,
            _namespace_check=False,
            _current_namespace=self._ctx.namespace,
        )

    def __getitem__(self, name: str) -> Run | TriggerEvent:
        """The triggering run of flow ``name``, or else the latest event called ``name``.

        Raises:
            NotFound: no triggering run or event has that name (also a ``KeyError``).
        """
        for event in reversed(self._events):
            if event.name == name:
                return self._run(event) if event.type == "run" else event
        raise NotFound(
            f"no trigger event or run named {name!r}; the events are "
            f"{[e.name for e in self._events]}",
            details={"name": name},
        )

    def __contains__(self, name: object) -> bool:
        return any(event.name == name for event in self._events)

    def __iter__(self) -> Iterator[TriggerEvent]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def __repr__(self) -> str:
        return f"Trigger({[e.name for e in self._events]!r})"
