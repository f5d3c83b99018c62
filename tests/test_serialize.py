"""Serialisation: encodings chosen by exact type, round trips, type names, searchable scalars."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import pickle
import threading

import pytest

from flowtrail.blobs import Encoding, Serialized, deserialize, serialize
from flowtrail.errors import InvalidArgument


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class Outer:
    class Inner:
        def __eq__(self, other: object) -> bool:
            return isinstance(other, Outer.Inner)

        def __hash__(self) -> int:
            return 0


class Color(enum.IntEnum):
    RED = 1


class Mode(enum.StrEnum):
    FAST = "fast"


def test_encoding_values() -> None:
    assert [member.value for member in Encoding] == ["pickle-v5", "bytes", "utf-8", "json"]


@pytest.mark.parametrize(
    ("obj", "encoding"),
    [
        (b"raw \x00\xff bytes", Encoding.BYTES),
        (b"", Encoding.BYTES),
        ("héllo ✓", Encoding.UTF8),
        ("", Encoding.UTF8),
        (None, Encoding.JSON),
        (True, Encoding.JSON),
        (False, Encoding.JSON),
        (0, Encoding.JSON),
        (-17, Encoding.JSON),
        (2**80, Encoding.JSON),
        (1.5, Encoding.JSON),
        ([1, "two", 3.0], Encoding.PICKLE),
        ({"a": [1, 2]}, Encoding.PICKLE),
        ((1, 2), Encoding.PICKLE),
        ({1, 2, 3}, Encoding.PICKLE),
        (Point(1, 2), Encoding.PICKLE),
        (Outer.Inner(), Encoding.PICKLE),
        (Color.RED, Encoding.PICKLE),
        (Mode.FAST, Encoding.PICKLE),
    ],
)
def test_round_trip(obj: object, encoding: Encoding) -> None:
    serialized = serialize(obj)
    assert serialized.encoding is encoding
    assert isinstance(serialized.data, bytes)
    back = deserialize(serialized.data, serialized.encoding)
    assert back == obj
    assert type(back) is type(obj)


def test_each_encoding_writes_its_documented_format() -> None:
    assert serialize(b"ab").data == b"ab"
    assert serialize("é").data == "é".encode()
    assert json.loads(serialize(12).data) == 12
    assert serialize(True).data == b"true"
    assert serialize(None).data == b"null"
    assert pickle.loads(serialize([1]).data) == [1]
    assert serialize([1]).data[:2] == b"\x80\x05"  # pickle protocol 5


def test_bytearray_is_stored_as_bytes() -> None:
    serialized = serialize(bytearray(b"xyz"))
    assert serialized.encoding is Encoding.BYTES
    assert serialized.python_type == "builtins.bytearray"
    assert deserialize(serialized.data, "bytes") == b"xyz"


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_infinities_round_trip(value: float) -> None:
    serialized = serialize(value)
    assert serialized.encoding is Encoding.JSON
    assert deserialize(serialized.data, Encoding.JSON) == value


def test_nan_round_trips_and_is_a_scalar() -> None:
    serialized = serialize(math.nan)
    assert serialized.encoding is Encoding.JSON
    back = deserialize(serialized.data, Encoding.JSON)
    assert isinstance(back, float)
    assert math.isnan(back)
    assert isinstance(serialized.scalar, float)
    assert math.isnan(serialized.scalar)


def test_string_with_lone_surrogate_is_pickled() -> None:
    text = "bad \ud800 text"
    serialized = serialize(text)
    assert serialized.encoding is Encoding.PICKLE
    assert deserialize(serialized.data, serialized.encoding) == text


@pytest.mark.parametrize(
    ("obj", "python_type"),
    [
        (1, "builtins.int"),
        (True, "builtins.bool"),
        (None, "builtins.NoneType"),
        ("s", "builtins.str"),
        (b"b", "builtins.bytes"),
        ([], "builtins.list"),
        (Point(0, 0), f"{Point.__module__}.Point"),
        (Outer.Inner(), f"{Outer.__module__}.Outer.Inner"),
        (Color.RED, f"{Color.__module__}.Color"),
    ],
)
def test_python_type(obj: object, python_type: str) -> None:
    assert serialize(obj).python_type == python_type


def test_scalar_rules() -> None:
    assert serialize(42).scalar == 42
    assert serialize(-(2**63)).scalar == -(2**63)
    assert serialize(2**63 - 1).scalar == 2**63 - 1
    assert serialize(2**63).scalar is None  # beyond a SQL BIGINT
    assert serialize(2.5).scalar == 2.5
    assert serialize("x" * 256).scalar == "x" * 256
    assert serialize("x" * 257).scalar is None
    assert serialize(None).scalar is None
    assert serialize(b"bytes").scalar is None
    assert serialize([1]).scalar is None
    assert serialize(Point(1, 2)).scalar is None


@pytest.mark.parametrize("value", [True, False])
def test_bools_stay_bools(value: bool) -> None:
    scalar = serialize(value).scalar
    assert type(scalar) is bool
    assert scalar is value


def test_subclass_scalars_are_plain_builtins() -> None:
    color = serialize(Color.RED)
    assert type(color.scalar) is int
    assert color.scalar == 1
    mode = serialize(Mode.FAST)
    assert type(mode.scalar) is str
    assert mode.scalar == "fast"


@pytest.mark.parametrize(
    ("obj", "type_name"),
    [(threading.Lock(), "_thread.lock"), (lambda: 1, "builtins.function")],
)
def test_unpicklable_object_is_invalid_argument(obj: object, type_name: str) -> None:
    with pytest.raises(InvalidArgument, match=type_name) as info:
        serialize(obj)
    assert "pickle" in str(info.value)
    assert info.value.details["python_type"] == type_name


def test_unknown_encoding_lists_the_known_ones() -> None:
    with pytest.raises(InvalidArgument, match="'yaml'") as info:
        deserialize(b"x", "yaml")
    for encoding in Encoding:
        assert repr(encoding.value) in str(info.value)


def test_encoding_given_as_string() -> None:
    assert deserialize(b"[1, 2]", "json") == [1, 2]
    assert deserialize("é".encode(), "utf-8") == "é"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [(b"not a pickle", Encoding.PICKLE), (b"{", Encoding.JSON), (b"\xff\xfe", Encoding.UTF8)],
)
def test_undecodable_data_is_invalid_argument(data: bytes, encoding: Encoding) -> None:
    with pytest.raises(InvalidArgument, match=encoding.value):
        deserialize(data, encoding)


def test_serialized_is_frozen() -> None:
    serialized = serialize(1)
    assert serialized == Serialized(b"1", Encoding.JSON, "builtins.int", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        serialized.scalar = 2  # type: ignore[misc]
