"""Turn Python objects into bytes and back, recording how they were encoded.

Bytes stay bytes, strings become UTF-8, ``None``/bools/ints/floats become JSON, and everything
else is pickled with protocol 5. The choice is made on the exact type, so a subclass (an
``IntEnum`` member, a ``numpy.float64``) is pickled and comes back as itself. Small scalars are
also returned as plain Python values, so the metadata store can index them for search.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from enum import StrEnum

from flowtrail.errors import InvalidArgument

__all__ = ["SCALAR_STR_MAX", "Encoding", "Serialized", "deserialize", "serialize"]

#: Longest string kept as a searchable scalar.
SCALAR_STR_MAX = 256

# Ints outside a signed 64-bit range are not kept as scalars: SQL indexes them as BIGINT.
_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1

_PICKLE_PROTOCOL = 5


class Encoding(StrEnum):
    """How serialised bytes encode their object."""

    PICKLE = "pickle-v5"
    """``pickle`` protocol 5."""
    BYTES = "bytes"
    """The bytes themselves (from ``bytes`` or ``bytearray``; read back as ``bytes``)."""
    UTF8 = "utf-8"
    """A ``str`` encoded as UTF-8."""
    JSON = "json"
    """``None``, a bool, an int or a float as JSON (``NaN`` and ``Infinity`` included)."""


@dataclass(frozen=True, slots=True)
class Serialized:
    """An object as bytes, with what is needed to read it back and to index it.

    Attributes:
        data: The encoded bytes.
        encoding: How ``data`` encodes the object; give it to :func:`deserialize`.
        python_type: Module and qualified name of the object's type (``"builtins.int"``).
        scalar: The value itself for bools, ints in the signed 64-bit range, floats and
            strings of at most 256 characters (subclasses converted to the builtin type);
            ``None`` otherwise.
    """

    data: bytes
    encoding: Encoding
    python_type: str
    scalar: int | float | bool | str | None


def _type_name(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _scalar(obj: object) -> int | float | bool | str | None:
    # bool before int: bool is a subclass of int, and True must stay True, not 1.
    if isinstance(obj, bool):
        return bool(obj)
    if isinstance(obj, int):
        value = int(obj)
        return value if _INT_MIN <= value <= _INT_MAX else None
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, str):
        # str.__str__ gives the plain string value even when a subclass overrides __str__.
        text = str.__str__(obj)
        return text if len(text) <= SCALAR_STR_MAX else None
    return None


def _encode(obj: object, python_type: str) -> tuple[bytes, Encoding]:
    cls = type(obj)
    if isinstance(obj, bytes | bytearray) and cls in (bytes, bytearray):
        return bytes(obj), Encoding.BYTES
    if isinstance(obj, str) and cls is str:
        try:
            return obj.encode("utf-8"), Encoding.UTF8
        except UnicodeEncodeError:
            pass  # lone surrogates are not UTF-8; pickle keeps them faithfully
    elif obj is None or cls is bool or cls is int or cls is float:
        return json.dumps(obj).encode("ascii"), Encoding.JSON
    try:
        return pickle.dumps(obj, protocol=_PICKLE_PROTOCOL), Encoding.PICKLE
    except Exception as exc:
        # __reduce__ of arbitrary objects can raise anything (TypeError for locks,
        # AttributeError for local functions, PicklingError, ...).
        raise InvalidArgument(
            f"cannot serialise an object of type {python_type} with pickle protocol "
            f"{_PICKLE_PROTOCOL}: {type(exc).__name__}: {exc}",
            details={"python_type": python_type},
        ) from exc


def serialize(obj: object) -> Serialized:
    """Encode ``obj`` as bytes and record how.

    Args:
        obj: Any object; objects that are not bytes, str, None, bool, int or float must be
            picklable.

    Returns:
        The bytes, their encoding, the object's type name and its searchable scalar value.

    Raises:
        InvalidArgument: ``obj`` cannot be pickled; the message names its type and why.
    """
    python_type = _type_name(obj)
    data, encoding = _encode(obj, python_type)
    return Serialized(data=data, encoding=encoding, python_type=python_type, scalar=_scalar(obj))


def deserialize(data: bytes, encoding: Encoding | str) -> object:
    """Decode bytes produced by :func:`serialize`.

    Unpickling runs code chosen by whoever wrote the bytes: only read blobs you trust.

    Args:
        data: The encoded bytes.
        encoding: An :class:`Encoding` or its string value (``"pickle-v5"``).

    Returns:
        The object (``bytes`` for :attr:`Encoding.BYTES`, also when a ``bytearray`` was
        serialised).

    Raises:
        InvalidArgument: ``encoding`` is unknown, or ``data`` is not valid in that encoding
            (including a pickle whose classes cannot be imported here).
    """
    try:
        kind = Encoding(encoding)
    except ValueError as exc:
        known = ", ".join(repr(member.value) for member in Encoding)
        raise InvalidArgument(
            f"unknown encoding {encoding!r}; known encodings are {known}",
            details={"encoding": repr(encoding)},
        ) from exc
    try:
        raw = bytes(data)
        if kind is Encoding.BYTES:
            return raw
        if kind is Encoding.UTF8:
            return raw.decode("utf-8")
        if kind is Encoding.JSON:
            return json.loads(raw)
        return pickle.loads(raw)
    except Exception as exc:
        # Unpickling can raise anything a class's __setstate__ or import raises.
        raise InvalidArgument(
            f"cannot decode {len(data)} bytes as {kind.value}: {type(exc).__name__}: {exc}",
            details={"encoding": kind.value},
        ) from exc
