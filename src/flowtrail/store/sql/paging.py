"""Opaque cursors for keyset pagination: the sort key of the last item of a page, tagged
with the listing it came from so that a cursor of one listing is refused by another."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from flowtrail.errors import InvalidArgument

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(listing: str, key: Sequence[Any]) -> str:
    """The cursor that continues ``listing`` after the item whose sort key is ``key``."""
    raw = json.dumps([listing, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(listing: str, cursor: str | None) -> list[Any] | None:
    """The sort key a cursor of ``listing`` carries, or ``None`` for no cursor.

    Raises:
        InvalidArgument: the cursor is malformed or belongs to another listing.
    """
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidArgument(
            f"expected a cursor returned by a {listing} listing, got {cursor!r:.60}"
        ) from None
    if kind != listing or not isinstance(key, list):
        raise InvalidArgument(
            f"expected a cursor returned by a {listing} listing, got one of {kind!r}"
        )
    return key
