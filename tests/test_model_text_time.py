"""What text and times the inputs accept: the same on every database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from flowtrail.errors import InvalidArgument
from flowtrail.model import (
    AttemptEnd,
    ExceptionInfo,
    LogStream,
    MetadataValue,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    Pathspec,
    RunFilter,
    Status,
    TaskStatusChange,
    TriggerEvent,
    utc_now,
)
from flowtrail.model.text import check_text, clean_text, is_storable

TASK = Pathspec.parse("F/1/start/1")
NAIVE = datetime(2026, 1, 1, 12, 0)


@pytest.mark.parametrize("text", ["a\x00b", "lone \ud800 surrogate", "\udfff"])
def test_unstorable_text(text: str) -> None:
    assert not is_storable(text)
    with pytest.raises(InvalidArgument, match="NUL characters or lone surrogates"):
        check_text("host", text)
    assert is_storable(clean_text(text))
    assert "\ufffd" in clean_text(text)


def test_storable_text() -> None:
    for text in ["", "plain", "ünïcödé ✓ 👩‍💻", "tab\tnewline\n"]:
        assert check_text("x", text) == text
        assert clean_text(text) == text
    with pytest.raises(InvalidArgument, match="at most 3 characters"):
        check_text("x", "abcd", max_length=3)
    with pytest.raises(InvalidArgument, match="must be a string"):
        check_text("x", 5)


def test_captured_text_is_cleaned_not_refused() -> None:
    line = NewLogLine(TASK, 0, LogStream.STDOUT, 0, "bin\x00ary \ud800")
    assert line.text == "bin\ufffdary \ufffd"
    exc = ExceptionInfo("Err\x00", "bad \x00", "tb \ud800")
    assert (exc.type, exc.message, exc.traceback) == ("Err\ufffd", "bad \ufffd", "tb \ufffd")


def test_unstorable_string_scalar_is_not_searchable_but_recorded() -> None:
    row = NewArtifact(TASK.child("x"), 0, "a" * 64, 3, "builtins.str", "utf-8", "a\x00b")
    assert row.value is None


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: NewAttempt(TASK, 0, host="h\x00"), "host must not contain NUL"),
        (lambda: NewAttempt(TASK, 0, host="h" * 256), "host has at most 255"),
        (
            lambda: NewArtifact(TASK.child("x"), 0, "a" * 64, 1, "t" * 513, "json"),
            "python_type has at most 512",
        ),
        (
            lambda: NewArtifact(TASK.child("x"), 0, "a" * 64, 1, "builtins.int", "e" * 33),
            "encoding has at most 32",
        ),
        (lambda: NewRun("F", parameters={"p": "a\x00b"}), "NUL character or a lone surrogate"),
        (lambda: NewRun("F", user="a\x00"), "user must not contain NUL"),
        (lambda: MetadataValue.text("a\x00b"), "text metadata value cannot be"),
        (lambda: NewMetadata(TASK, "f\ud800", MetadataValue.of(1)), "field_name must be"),
        (lambda: TriggerEvent("e\x00", utc_now()), "trigger event name must not contain NUL"),
    ],
)
def test_unstorable_identifiers_are_refused(build: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: NewRun("F", created_at=NAIVE),
        lambda: NewStep(TASK.parent, created_at=NAIVE),  # type: ignore[arg-type]
        lambda: NewTask(TASK, created_at=NAIVE),
        lambda: TaskStatusChange(TASK, Status.FAILED, at=NAIVE),
        lambda: NewAttempt(TASK, 0, started_at=NAIVE),
        lambda: AttemptEnd(TASK, 0, Status.FAILED, finished_at=NAIVE),
        lambda: NewMetadata(TASK, "k", MetadataValue.of(1), created_at=NAIVE),
        lambda: NewArtifact(TASK.child("x"), 0, "a" * 64, 1, "t", "json", created_at=NAIVE),
        lambda: NewLogLine(TASK, 0, LogStream.STDOUT, 0, "x", created_at=NAIVE),
        lambda: TriggerEvent("e", NAIVE),
        lambda: RunFilter(created_after=NAIVE),
        lambda: RunFilter(created_before=NAIVE),
    ],
)
def test_naive_times_are_refused(build: Any) -> None:
    with pytest.raises(InvalidArgument, match="timezone-aware datetime"):
        build()


def test_aware_times_in_any_zone_are_fine() -> None:
    from datetime import timezone

    tokyo = datetime(2026, 1, 1, 21, 0, tzinfo=timezone(timedelta(hours=9)))
    assert NewRun("F", created_at=tokyo).created_at == tokyo


@pytest.mark.parametrize(
    "build",
    [
        lambda: NewArtifact(TASK.child("x"), 0, "a" * 64, "1", "t", "json"),  # type: ignore[arg-type]
        lambda: NewArtifact(TASK.child("x"), 0, "a" * 64, 1, "t", "json", [1]),  # type: ignore[arg-type]
        lambda: NewLogLine(TASK, 0, LogStream.STDOUT, 0, None),  # type: ignore[arg-type]
        lambda: NewAttempt(TASK, 0, pid="12"),  # type: ignore[arg-type]
        lambda: AttemptEnd(TASK, 0, Status.FAILED, exception="boom"),  # type: ignore[arg-type]
        lambda: ExceptionInfo(object(), "m"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_are_invalid_arguments(build: Any) -> None:
    with pytest.raises(InvalidArgument):
        build()
