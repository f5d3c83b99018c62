"""``Metadata``: one metadata entry of a run or a task, as ``Run.metadata`` and
``Task.metadata`` list them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowtrail.model import MetadataEntry, MetadataType, to_epoch_ms

__all__ = ["Metadata"]


@dataclass(frozen=True, slots=True)
class Metadata:
    """One metadata entry of a run or a task.

    Attributes:
        name: The entry's name (``attempt``, ``host``, or a name chosen during the step or
            given when the run started).
        value: The value, as a plain Python value (``0`` for ``attempt``, text for ``host``).
        type: Who recorded it: ``"system"`` for flowtrail's entries, ``"user"`` for entries
            written during the step or given when the run started.
        created_at: When it was recorded (aware UTC).
        value_type: The value's type: text, url, json, markdown, path, int, float or bool.
        attempt: The attempt it belongs to, or ``None`` for an entry of the whole task (and
            for every entry of a run).
        pathspec: The pathspec of the run or task it belongs to.
    """

    name: str
    value: Any
    type: str
    created_at: datetime
    value_type: MetadataType
    attempt: int | None
    pathspec: str

    @classmethod
    def from_entry(cls, entry: MetadataEntry) -> Metadata:
        """The client view of a store's metadata entry."""
        return cls(
            name=entry.field_name,
            value=entry.value.value,
            type=entry.type,
            created_at=entry.created_at,
            value_type=entry.value.type,
            attempt=entry.attempt,
            pathspec=str(entry.pathspec),
        )

    @property
    def field_name(self) -> str:
        """The entry's name (the same as :attr:`name`)."""
        return self.name

    @property
    def ts_epoch(self) -> int:
        """``created_at`` as epoch milliseconds."""
        return to_epoch_ms(self.created_at)
