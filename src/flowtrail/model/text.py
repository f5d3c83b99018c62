"""What text the history can hold, the same on every database: no NUL characters
(PostgreSQL's ``text`` and ``jsonb`` refuse them) and nothing that is not valid UTF-8 (lone
surrogates, which SQLite refuses), within each column's length.

Names and identifiers that break the rule are refused (:func:`check_text`). Text captured
from a program — log lines, exception messages — is cleaned instead (:func:`clean_text`):
losing a task's whole record for one stray byte would be worse than a replacement character.
"""

from __future__ import annotations

import re

from flowtrail.errors import InvalidArgument

__all__ = ["check_text", "clean_text", "is_storable"]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_storable(value: str) -> bool:
    """True when every database can store ``value`` as it is."""
    return _UNSTORABLE.search(value) is None


def check_text(what: str, value: object, *, max_length: int | None = None) -> str:
    """Return ``value`` if it is a string every database can store, within ``max_length``.

    Raises:
        InvalidArgument: naming ``what`` and saying which rule it breaks.
    """
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a string, got {type(value).__name__} {value!r:.60}")
    bad = _UNSTORABLE.search(value)
    if bad is not None:
        raise InvalidArgument(
            f"{what} must not contain NUL characters or lone surrogates (not valid UTF-8), "
            f"got {bad.group()!r} at position {bad.start()} of {value[:40]!r}"
        )
    if max_length is not None and len(value) > max_length:
        raise InvalidArgument(
            f"{what} has at most {max_length} characters, got {len(value)}: {value[:40]!r}..."
        )
    return value


def clean_text(value: str) -> str:
    """``value`` with each NUL character and lone surrogate replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", value)
