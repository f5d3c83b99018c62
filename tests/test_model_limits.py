"""Integers outside what the history's columns hold are refused by the inputs themselves,
as ``InvalidArgument`` naming the field (never a driver's overflow)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flowtrail.errors import InvalidArgument
from flowtrail.model import (
    AttemptEnd,
    LogStream,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    Pathspec,
    Status,
)
from flowtrail.model.limits import (
    MAX_ATTEMPT,
    MAX_INT64,
    check_attempt,
    check_int,
    check_log_limit,
)

TASK = Pathspec.parse("F/12/train/3")
SHA = "ab" * 32
HUGE = 2**63 + 5

BUILDERS: dict[str, tuple[Callable[[Any], object], str, int]] = {
    "attempt number": (lambda n: NewAttempt(TASK, n), "number", MAX_ATTEMPT),
    "attempt pid": (lambda n: NewAttempt(TASK, 0, pid=n), "pid", MAX_INT64),
    "attempt end": (lambda n: AttemptEnd(TASK, n, Status.SUCCEEDED), "number", MAX_ATTEMPT),
    "metadata attempt": (lambda n: NewMetadata(TASK, "f", 1, attempt=n), "attempt", MAX_ATTEMPT),
    "artifact attempt": (
        lambda n: NewArtifact(TASK.child("a"), n, SHA, 1, "builtins.int", "json"),
        "attempt",
        MAX_ATTEMPT,
    ),
    "artifact size": (
        lambda n: NewArtifact(TASK.child("a"), 0, SHA, n, "builtins.int", "json"),
        "artifact size",
        MAX_INT64,
    ),
    "log attempt": (
        lambda n: NewLogLine(TASK, n, LogStream.STDOUT, 0, "x"),
        "attempt",
        MAX_ATTEMPT,
    ),
    "log seq": (lambda n: NewLogLine(TASK, 0, LogStream.STDOUT, n, "x"), "seq", MAX_INT64),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_each_integer_field_holds_its_columns_range(name: str) -> None:
    build, field, high = BUILDERS[name]
    build(0)
    build(high)
    for bad in (high + 1, HUGE, 2**64, 99999999999999999999, -1):
        with pytest.raises(InvalidArgument) as refused:
            build(bad)
        assert field in refused.value.message
        assert str(high) in refused.value.message
        assert refused.value.details["maximum"] == high


def test_the_checks() -> None:
    assert check_int("size", 5) == 5
    assert check_attempt(MAX_ATTEMPT) == MAX_ATTEMPT
    assert check_log_limit(1000) == 1000
    for bad in (True, 1.0, "1", None):
        with pytest.raises(InvalidArgument):
            check_int("size", bad)
        with pytest.raises(InvalidArgument):
            check_attempt(bad)
    with pytest.raises(
        InvalidArgument, match="offset must be an int from 0 to 9223372036854775807"
    ):
        check_int("offset", 2**63)
    with pytest.raises(InvalidArgument, match="limit must be from 1 to 1000, got 0"):
        check_log_limit(0)
    with pytest.raises(InvalidArgument, match="count from 0"):
        check_attempt(2**31)
