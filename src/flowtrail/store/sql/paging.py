"""Opaque cursors for keyset pagination, and the page built from a query's rows.

A cursor carries the sort key of the last item of a page, tagged with the listing it came
from: a cursor of one listing is refused by another, and a malformed or forged one is an
``InvalidArgument``, never a raw error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flowtrail.errors import InvalidArgument
from flowtrail.model import Page
from flowtrail.store.base import CURSOR_ARGUMENT

__all__ = ["decode_cursor", "encode_cursor", "page_of"]

T = TypeVar("T")
R = TypeVar("R")

# The range of the 64-bit columns sort keys come from.
_MIN, _MAX = -(2**63), 2**63 - 1


def encode_cursor(listing: str, key: Sequence[Any]) -> str:
    """The cursor that continues ``listing`` after the item whose sort key is ``key``."""
    raw = json.dumps([listing, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    listing: str, cursor: str | None, shape: tuple[type | tuple[type, ...], ...]
) -> list[Any] | None:
    """The sort key a cursor of ``listing`` carries, or ``None`` for no cursor.

    Args:
        listing: The listing the cursor must come from.
        cursor: The cursor given, or ``None``.
        shape: The type, or the tuple of types, each element of the key may have (``bool``
            only when named: ``int`` excludes it).

    Raises:
        InvalidArgument: the cursor is malformed, forged, or belongs to another listing;
            ``details["argument"]`` is ``"cursor"`` (the service names ``query.cursor``).
    """
    if cursor is None:
        return None
    expected = f"expected a cursor returned by a {listing} listing"
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise _refused(f"{expected}, got {cursor!r:.60}") from None
    if kind != listing:
        raise _refused(f"{expected}, got one of a {kind!r:.40} listing")
    if (
        not isinstance(key, list)
        or len(key) != len(shape)
        or not all(_fits(value, kind) for value, kind in zip(key, shape, strict=False))
    ):
        raise _refused(f"{expected}, got a damaged one: {cursor!r:.60}")
    return key


def _refused(message: str) -> InvalidArgument:
    return InvalidArgument(message, details={"argument": CURSOR_ARGUMENT})


def _fits(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, int) and not isinstance(value, bool) and not _MIN <= value <= _MAX:
        return False  # no column holds it: a forged cursor, not one a listing returned
    return isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))


def page_of(
    listing: str,
    rows: Sequence[R],
    limit: int,
    key: Callable[[R], list[Any]],
    build: Callable[[R], T],
) -> Page[T]:
    """The page of at most ``limit`` items from ``rows`` (fetched with ``limit + 1`` rows,
    so that one more row says whether a next page exists)."""
    items = tuple(build(row) for row in rows[:limit])
    more = len(rows) > limit
    return Page(items, encode_cursor(listing, key(rows[limit - 1])) if more else None)
