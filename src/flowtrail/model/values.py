"""Typed metadata values: text, url, json, markdown, path, int, float and bool.

Plain Python values convert to the matching type (``str`` to text, ``int`` to int,
``dict``/``list`` to json, ``pathlib.PurePath`` to path, ...) with :meth:`MetadataValue.of`.
"""

from __future__ import annotations

import builtins
import functools
import json
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath
from typing import Any

from flowtrail.errors import InvalidArgument
from flowtrail.model.limits import check_json_depth
from flowtrail.model.text import is_storable

__all__ = ["MetadataType", "MetadataValue"]


class MetadataType(StrEnum):
    """The type of a metadata value."""

    TEXT = "text"
    URL = "url"
    JSON = "json"
    MARKDOWN = "markdown"
    PATH = "path"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"


_STRING_TYPES = frozenset({MetadataType.TEXT, MetadataType.URL, MetadataType.MARKDOWN})


@dataclass(frozen=True, slots=True)
class MetadataValue:
    """A metadata value with its type. Build one with the named constructors or :meth:`of`.

    Attributes:
        type: What kind of value this is.
        value: The value: ``str`` for text, url, markdown and path; ``int``, ``float`` or
            ``bool`` for those types; any JSON-compatible value for json.
    """

    type: MetadataType
    value: Any

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", _coerce_type(self.type))
        object.__setattr__(self, "value", _check(self.type, self.value))

    @classmethod
    def text(cls, value: str) -> MetadataValue:
        """Plain text."""
        return cls(MetadataType.TEXT, value)

    @classmethod
    def url(cls, value: str) -> MetadataValue:
        """A link."""
        return cls(MetadataType.URL, value)

    @classmethod
    def json(cls, value: Any) -> MetadataValue:
        """A JSON-compatible value (dict, list, str, number, bool, None)."""
        return cls(MetadataType.JSON, value)

    @classmethod
    def markdown(cls, value: str) -> MetadataValue:
        """Markdown text."""
        return cls(MetadataType.MARKDOWN, value)

    @classmethod
    def path(cls, value: str | PurePath) -> MetadataValue:
        """A file system path."""
        return cls(MetadataType.PATH, str(value))

    @classmethod
    def int(cls, value: builtins.int) -> MetadataValue:
        """An integer."""
        return cls(MetadataType.INT, value)

    @classmethod
    def float(cls, value: builtins.float) -> MetadataValue:
        """A floating point number."""
        return cls(MetadataType.FLOAT, value)

    @classmethod
    def bool(cls, value: builtins.bool) -> MetadataValue:
        """A boolean."""
        return cls(MetadataType.BOOL, value)

    @classmethod
    def of(cls, value: Any) -> MetadataValue:
        """Convert a plain Python value to the matching typed value; typed values pass through.

        ``bool`` becomes bool (checked before ``int``), ``int`` int, ``float`` float, ``str``
        text, ``PurePath`` path, ``dict``/``list``/``tuple``/``None`` json.

        Raises:
            InvalidArgument: for a value of no supported type.
        """
        if isinstance(value, MetadataValue):
            return value
        for python_type, meta_type in _CONVERSIONS:
            if isinstance(value, python_type):
                if meta_type is MetadataType.PATH:
                    value = str(value)
                return cls(meta_type, value)
        raise InvalidArgument(
            f"metadata values are str, int, float, bool, a path, or JSON-compatible "
            f"dict/list/None, or a MetadataValue; got {type(value).__name__} {value!r:.80}"
        )

    def to_text(self) -> str:
        """The value as text: strings as they are, everything else as JSON."""
        if self.type in _STRING_TYPES or self.type is MetadataType.PATH:
            return str(self.value)
        return json.dumps(self.value, sort_keys=True, allow_nan=True)

    @classmethod
    def from_text(cls, type: MetadataType | str, text: str) -> MetadataValue:
        """Rebuild a value from :meth:`to_text` output and its type."""
        meta_type = _coerce_type(type)
        if meta_type in _STRING_TYPES or meta_type is MetadataType.PATH:
            return cls(meta_type, text)
        try:
            decoded = json.loads(text)
        except (ValueError, RecursionError) as exc:
            why = " (it nests too deeply)" if isinstance(exc, RecursionError) else ""
            raise InvalidArgument(
                f"not valid text for a {meta_type} metadata value{why}: {text!r:.80}"
            ) from None
        return cls(meta_type, decoded)

    @classmethod
    def from_stored(cls, type: str, text: str) -> MetadataValue:
        """Rebuild a value a store wrote with :meth:`to_text` (so checked when it was
        written): decoded, not checked again. Text from elsewhere goes through
        :meth:`from_text`.

        A short value of a type other than ``json`` is immutable, so one instance serves
        every entry that holds it (``attempt`` 0, a host name, ``true``): it is decoded once.
        """
        if type != "json" and len(text) <= _SHARED_TEXT and cls is MetadataValue:
            return _shared_stored(type, text)
        return cls._decode_stored(type, text)

    @classmethod
    def _decode_stored(cls, type: str, text: str) -> MetadataValue:
        meta_type = _TYPES.get(type)
        if meta_type is None:  # not a type this version writes: the checked way says so
            return cls.from_text(type, text)
        decoded: Any
        if meta_type in _STRING_TYPES or meta_type is MetadataType.PATH:
            decoded = text
        elif meta_type is MetadataType.INT and _JSON_INT.fullmatch(text):
            decoded = int(text)  # what json.loads makes of it, without the decoder
        elif meta_type is MetadataType.BOOL and text in _JSON_BOOLS:
            decoded = _JSON_BOOLS[text]
        else:
            try:
                decoded = json.loads(text)
            except ValueError:
                return cls.from_text(type, text)  # raises, saying what is wrong
            if meta_type is MetadataType.FLOAT and not isinstance(decoded, builtins.float):
                return cls.from_text(type, text)
        value = object.__new__(cls)
        object.__setattr__(value, "type", meta_type)
        object.__setattr__(value, "value", decoded)
        return value

    def to_number(self) -> builtins.float | None:
        """The value as a number, for search: int, float and bool values; else ``None``."""
        if self.type in (MetadataType.INT, MetadataType.FLOAT, MetadataType.BOOL):
            try:
                number = float(self.value)
            except OverflowError:  # an int beyond the float range has no number to search by
                return None
            return None if math.isnan(number) else number
        return None


_TYPES = {t.value: t for t in MetadataType}
#: The longest text whose decoded value :meth:`MetadataValue.from_stored` shares.
_SHARED_TEXT = 200


@functools.lru_cache(maxsize=4096)
def _shared_stored(type: str, text: str) -> MetadataValue:
    return MetadataValue._decode_stored(type, text)


#: A JSON integer, as ``json.dumps`` writes one (read by ``int``, several times quicker).
_JSON_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_JSON_BOOLS = {"true": True, "false": False}

_CONVERSIONS: tuple[tuple[type | tuple[type, ...], MetadataType], ...] = (
    (bool, MetadataType.BOOL),
    (int, MetadataType.INT),
    (float, MetadataType.FLOAT),
    (str, MetadataType.TEXT),
    (PurePath, MetadataType.PATH),
    ((dict, list, tuple, type(None)), MetadataType.JSON),
)


def _coerce_type(value: MetadataType | str) -> MetadataType:
    try:
        return MetadataType(value)
    except ValueError:
        choices = ", ".join(t.value for t in MetadataType)
        raise InvalidArgument(f"metadata type must be one of {choices}, got {value!r}") from None


def _check(meta_type: MetadataType, value: Any) -> Any:
    ok: bool
    if meta_type in _STRING_TYPES or meta_type is MetadataType.PATH:
        ok = isinstance(value, str) and is_storable(value)
    elif meta_type is MetadataType.BOOL:
        ok = isinstance(value, bool)
    elif meta_type is MetadataType.INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif meta_type is MetadataType.FLOAT:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            try:
                value = float(value)
            except OverflowError:  # an int beyond the float range
                ok = False
    else:
        check_json_depth("a json metadata value", value)
        try:
            value = json.loads(json.dumps(value, allow_nan=True))
            ok = True
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise InvalidArgument(
            f"a {meta_type} metadata value cannot be {type(value).__name__} {value!r:.80}"
        )
    return value
