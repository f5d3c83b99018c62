"""Time in flowtrail: timezone-aware UTC ``datetime`` in Python, integer epoch milliseconds in
SQL and on the wire. These two functions are the only place the two meet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flowtrail.errors import InvalidArgument

__all__ = ["check_aware", "from_epoch_ms", "to_epoch_ms", "utc_now"]


def utc_now() -> datetime:
    """Return the current time as a timezone-aware UTC datetime, at millisecond precision."""
    return from_epoch_ms(to_epoch_ms(datetime.now(UTC)))


def to_epoch_ms(value: datetime) -> int:
    """Convert an aware datetime to integer epoch milliseconds.

    Raises:
        InvalidArgument: (a ``ValueError``) if ``value`` is naive: flowtrail never guesses a
            timezone.
    """
    check_aware("a time", value)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def check_aware(what: str, value: object) -> None:
    """Check that ``value`` is ``None`` or a timezone-aware datetime.

    Raises:
        InvalidArgument: ``value`` is not a datetime, or is naive.
    """
    if value is None:
        return
    if not isinstance(value, datetime):
        raise InvalidArgument(
            f"{what} must be a timezone-aware datetime, got {type(value).__name__} {value!r:.60}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgument(
            f"{what} must be a timezone-aware datetime (flowtrail never guesses a timezone), "
            f"got naive {value.isoformat()}; use datetime.now(timezone.utc)"
        )


def from_epoch_ms(value: int) -> datetime:
    """Convert integer epoch milliseconds to an aware UTC datetime.

    Raises:
        InvalidArgument: the time is outside what a ``datetime`` holds (years 1 to 9999);
            such a number can only come from outside (a query parameter), never a clock.
    """
    try:
        # Exact in integer milliseconds, and quicker than ``fromtimestamp``: every time a
        # store reads goes through here. (Milliseconds are timedelta's fourth positional
        # argument; by keyword the call costs a third more.)
        return _EPOCH + timedelta(0, 0, 0, value)
    except (OverflowError, OSError, ValueError):
        raise InvalidArgument(
            f"a time in epoch milliseconds must fall in the years 1 to 9999, got {value}",
            details={"given": value},
        ) from None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
