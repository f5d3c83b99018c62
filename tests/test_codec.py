"""The SQL store's decoders of rows as stored: a page's JSON column decoded in one call
gives what decoding each value gives, whatever the values."""

from __future__ import annotations

import math
from typing import Any

import pytest

from flowtrail.store.sql.codec import (
    encode_tag_list,
    split_tags,
    stored_json,
    stored_json_column,
)


@pytest.mark.parametrize(
    "values",
    [
        ['{"alpha": 0.5}', "{}", '{"n": 123456789012345678901234567890}'],
        ["null", None, '{"sha": "ab", "info": {}}'],
        ['[1, "a,b", {"x": [2]}]', "[]", '"just text"'],
        ['{"deep": ' * 40 + "1" + "}" * 40, "1e400", "-0.0"],
        ['{"a": 1}'],  # one value: decoded on its own
        [],
    ],
)
def test_a_column_decodes_as_each_value_alone(values: list[str | None]) -> None:
    alone = [None if value is None else stored_json(value) for value in values]
    assert stored_json_column(values) == alone


def test_nan_and_infinity_survive_the_batch() -> None:
    nan, inf = stored_json_column(['{"x": NaN}', '{"x": -Infinity}'])
    assert math.isnan(nan["x"])
    assert inf["x"] == -math.inf


def test_texts_that_join_into_more_values_are_decoded_alone() -> None:
    # "1, 2" is no JSON document: alone it raises; joined it would read as two values.
    with pytest.raises(ValueError, match="Extra data"):
        stored_json_column(["1, 2", "3"])


def test_a_bad_text_raises_as_it_would_alone() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        stored_json_column(['{"ok": 1}', '{"broken": '])


def test_values_a_driver_decoded_pass_through() -> None:
    decoded: list[Any] = [{"alpha": 0.5}, None, [1]]
    assert stored_json_column(decoded) == decoded


def test_tag_lists_round_trip() -> None:
    # " spaced " can no longer be added, but a run may carry it from an older version.
    user, system = {"prod", "team:a", " spaced ", "s", "u"}, {"user:ada", "runtime:local"}
    assert split_tags(encode_tag_list(user, system)) == (frozenset(user), frozenset(system))
    assert split_tags(encode_tag_list((), ())) == (frozenset(), frozenset())
    assert split_tags(None) == (frozenset(), frozenset())
