"""What integers the history can hold, the same on every database and on the wire.

Attempt numbers live in 32-bit ``INTEGER`` columns; sizes, log sequence numbers and process
ids in 64-bit ``BIGINT`` ones; times are epoch milliseconds within the years 1 to 9999 (what
a ``datetime`` holds). A number outside its column's range is refused here, as an
``InvalidArgument`` naming the field, before a driver turns it into an overflow. JSON values
(parameters, a code package's info) nest at most :data:`MAX_JSON_DEPTH` arrays and objects
deep, so that every JSON parser on the way (the service's, the HTTP client's) reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flowtrail.errors import InvalidArgument

__all__ = [
    "MAX_ATTEMPT",
    "MAX_EPOCH_MS",
    "MAX_HEARTBEAT_TIMEOUT",
    "MAX_INT64",
    "MAX_JSON_DEPTH",
    "MAX_LOG_LINES",
    "MIN_EPOCH_MS",
    "MIN_HEARTBEAT_TIMEOUT",
    "check_attempt",
    "check_int",
    "check_json_depth",
    "check_log_limit",
]

#: The largest attempt number (the attempt columns are 32-bit).
MAX_ATTEMPT = 2**31 - 1
#: The largest size, log line ``seq`` or pid (64-bit columns).
MAX_INT64 = 2**63 - 1
#: The earliest time in epoch milliseconds: 0001-01-01T00:00:00Z.
MIN_EPOCH_MS = -62_135_596_800_000
#: The latest time in epoch milliseconds: 9999-12-31T23:59:59.999Z.
MAX_EPOCH_MS = 253_402_300_799_999
#: The shortest and longest heartbeat timeout of a run.
MIN_HEARTBEAT_TIMEOUT = timedelta(milliseconds=1)
MAX_HEARTBEAT_TIMEOUT = timedelta(days=366)
#: The most log lines one read returns.
MAX_LOG_LINES = 1000
#: The deepest nesting of arrays and objects in a JSON value a run keeps.
MAX_JSON_DEPTH = 100


def check_int(what: str, value: object, low: int = 0, high: int = MAX_INT64) -> int:
    """Return ``value`` if it is an int (not a bool) from ``low`` to ``high``.

    Raises:
        InvalidArgument: naming ``what``, the range and the value given.
    """
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidArgument(
            f"{what} must be an int from {low} to {high}, got {value!r:.40}",
            details={"minimum": low, "maximum": high},
        )
    return value


def check_attempt(number: object, what: str = "attempt") -> int:
    """Return ``number`` if it is an attempt number (0 to :data:`MAX_ATTEMPT`).

    Raises:
        InvalidArgument: it is not.
    """
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= MAX_ATTEMPT:
        raise InvalidArgument(
            f"attempt numbers count from 0 (at most {MAX_ATTEMPT}), got {what}={number!r:.40}",
            details={"minimum": 0, "maximum": MAX_ATTEMPT},
        )
    return number


def check_log_limit(limit: object) -> int:
    """Return ``limit`` if it is a number of log lines one read may return (1 to 1000).

    Raises:
        InvalidArgument: it is not.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LOG_LINES:
        raise InvalidArgument(f"limit must be from 1 to {MAX_LOG_LINES}, got {limit!r:.40}")
    return limit


def check_json_depth(what: str, value: object, limit: int = MAX_JSON_DEPTH) -> None:
    """Check that ``value`` nests at most ``limit`` dicts, lists and tuples deep.

    Walks without recursion, so that a value nested too deep for Python's own recursion is
    refused too.

    Raises:
        InvalidArgument: naming ``what`` and the limit.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= limit:
            raise InvalidArgument(
                f"{what} nests arrays and objects more than {limit} deep",
                details={"maximum": limit},
            )
        stack.extend((child, depth + 1) for child in children)
