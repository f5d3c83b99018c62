"""Time in flowtrail: timezone-aware UTC ``datetime`` in Python, integer epoch milliseconds in
SQL and on the wire. These two functions are the only place the two meet."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["from_epoch_ms", "to_epoch_ms", "utc_now"]


def utc_now() -> datetime:
    """Return the current time as a timezone-aware UTC datetime, at millisecond precision."""
    return from_epoch_ms(to_epoch_ms(datetime.now(UTC)))


def to_epoch_ms(value: datetime) -> int:
    """Convert an aware datetime to integer epoch milliseconds.

    Raises:
        ValueError: if ``value`` is naive (has no timezone): flowtrail never guesses one.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {value.isoformat()}")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_epoch_ms(value: int) -> datetime:
    """Convert integer epoch milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, UTC).replace(microsecond=(value % 1000) * 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
