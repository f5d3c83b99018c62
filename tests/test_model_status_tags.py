"""Statuses and their one transition table; the rules every tag, user tag and system tag obeys."""

from __future__ import annotations

import itertools
import re

import pytest

from flowtrail.errors import InvalidArgument, InvalidTag, InvalidTransition
from flowtrail.model import (
    FINAL,
    MAX_TAG_LENGTH,
    MAX_USER_TAGS,
    SYSTEM_TAG_PREFIXES,
    TERMINAL,
    TRANSITIONS,
    Status,
    check_transition,
    is_system_tag,
    validate_new_tag,
    validate_system_tag,
    validate_tag,
    validate_user_tags,
)
from flowtrail.model.tags import check_user_tag_count

# --- statuses ---------------------------------------------------------------------------------


def test_status_values() -> None:
    assert [s.value for s in Status] == [
        "pending",
        "running",
        "succeeded",
        "failed",
        "cancelled",
        "lost",
    ]
    assert Status("running") is Status.RUNNING
    assert str(Status.SUCCEEDED) == "succeeded"


@pytest.mark.parametrize(
    ("status", "finished"),
    [
        (Status.PENDING, False),
        (Status.RUNNING, False),
        (Status.SUCCEEDED, True),
        (Status.FAILED, True),
        (Status.CANCELLED, True),
        (Status.LOST, True),
    ],
)
def test_finished(status: Status, finished: bool) -> None:
    assert status.finished is finished
    assert (status in TERMINAL) is finished


def test_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(Status)
    for targets in TRANSITIONS.values():
        assert targets <= set(Status)


@pytest.mark.parametrize(("current", "new"), list(itertools.product(Status, Status)))
def test_every_pair_follows_the_table(current: Status, new: Status) -> None:
    if new in TRANSITIONS[current]:
        check_transition("F/1", current, new)
    else:
        with pytest.raises(InvalidTransition) as info:
            check_transition("F/1", current, new)
        message = str(info.value)
        assert "F/1" in message
        assert str(current) in message
        assert str(new) in message
        assert info.value.details == {
            "pathspec": "F/1",
            "current": str(current),
            "requested": str(new),
        }


def test_pair_count() -> None:
    assert len(list(itertools.product(Status, Status))) == 36


def test_succeeded_run_cannot_run_again() -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition("TrainFlow/12", Status.SUCCEEDED, Status.RUNNING)
    message = str(info.value)
    assert "TrainFlow/12 is succeeded; it cannot become running" in message
    assert "it is final" in message
    assert info.value.code == "invalid_transition"
    assert info.value.http_status == 409


def test_only_succeeded_is_final() -> None:
    assert TRANSITIONS[Status.SUCCEEDED] == frozenset()
    assert frozenset({Status.SUCCEEDED}) == FINAL


@pytest.mark.parametrize("status", [Status.FAILED, Status.CANCELLED, Status.LOST])
def test_a_failed_cancelled_or_lost_run_may_run_again(status: Status) -> None:
    # A workflow resumes in place, under its id (flowtrail.workflow.resume).
    check_transition("trip/trip1", status, Status.RUNNING)


@pytest.mark.parametrize("status", [Status.FAILED, Status.CANCELLED])
def test_a_failed_or_cancelled_object_only_runs_again(status: Status) -> None:
    assert TRANSITIONS[status] == frozenset({Status.RUNNING})
    with pytest.raises(InvalidTransition, match=r"allowed from .*: running"):
        check_transition("F/1", status, Status.SUCCEEDED)


def test_key_transitions() -> None:
    # The lifecycle the design describes.
    assert Status.RUNNING in TRANSITIONS[Status.PENDING]
    assert {Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.LOST} <= TRANSITIONS[
        Status.RUNNING
    ]
    # A writer declared lost may turn out to be alive and record how the object ended.
    assert Status.SUCCEEDED in TRANSITIONS[Status.LOST]
    # Nothing moves back to pending, and nothing stays where it is through a transition.
    for current, targets in TRANSITIONS.items():
        assert Status.PENDING not in targets
        assert current not in targets


def test_message_lists_allowed_targets() -> None:
    with pytest.raises(InvalidTransition, match=r"allowed from pending: cancelled, failed, lost"):
        check_transition("F/1/start/2", Status.PENDING, Status.SUCCEEDED)


# --- tag rules --------------------------------------------------------------------------------

EXPECTED_PREFIXES = {
    "user:",
    "runtime:",
    "python_version:",
    "flowtrail_version:",
    "date:",
    "origin-run:",
    "resume-step:",
    "trigger:",
    "schedule:",
    "partition:",
    "backfill:",
    "image:",
    "workflow:",
}


def test_system_prefixes_exactly() -> None:
    assert set(SYSTEM_TAG_PREFIXES) == EXPECTED_PREFIXES
    assert len(SYSTEM_TAG_PREFIXES) == len(EXPECTED_PREFIXES)


@pytest.mark.parametrize(
    "tag", ["prod", "team:ml", "key:value:with:colons", "café", "a b", "x" * 500, "🚀", ":"]
)
def test_valid_tags(tag: str) -> None:
    assert validate_tag(tag) == tag
    assert validate_user_tags([tag]) == frozenset({tag})


def test_length_limit() -> None:
    assert MAX_TAG_LENGTH == 500
    assert validate_tag("a" * 500) == "a" * 500
    with pytest.raises(InvalidTag, match="at most 500 characters, got 501") as info:
        validate_tag("a" * 501)
    assert info.value.details == {"length": 501}


@pytest.mark.parametrize("tag", ["", " ", "   ", "\t"])
def test_empty_or_blank_refused(tag: str) -> None:
    with pytest.raises(InvalidTag, match="empty or blank"):
        validate_tag(tag)


@pytest.mark.parametrize("tag", ["a\nb", "\x00", "tab\there", "bell\x07", "del\x7f", "a\rb"])
def test_control_characters_refused(tag: str) -> None:
    with pytest.raises(InvalidTag, match="control characters"):
        validate_tag(tag)
    with pytest.raises(InvalidTag, match="control characters"):
        validate_user_tags(["ok", tag])


@pytest.mark.parametrize("tag", [" prod", "prod ", "\u00a0prod", "prod\u2003", " a b "])
def test_surrounding_whitespace_refused_on_new_tags(tag: str) -> None:
    assert validate_tag(tag) == tag  # still found and removed
    message = f"must not begin or end with whitespace, got {tag!r}; did you mean {tag.strip()!r}"
    for check in (validate_new_tag, lambda t: validate_user_tags([t])):
        with pytest.raises(InvalidTag, match=re.escape(message)):
            check(tag)
    with pytest.raises(InvalidTag, match="whitespace"):
        validate_system_tag(f"image:{tag.strip()}{tag[-1]}" if tag[-1].isspace() else f" {tag}")


@pytest.mark.parametrize("tag", [None, 1, b"prod"])
def test_non_string_tag_refused(tag: object) -> None:
    with pytest.raises(InvalidTag, match="must be a string"):
        validate_tag(tag)  # type: ignore[arg-type]


def test_invalid_tag_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument):
        validate_tag("")
    with pytest.raises(ValueError, match="empty"):
        validate_tag("")
    assert InvalidTag.code == "invalid_tag"
    assert InvalidTag.http_status == 400


@pytest.mark.parametrize("prefix", sorted(EXPECTED_PREFIXES))
def test_is_system_tag(prefix: str) -> None:
    assert is_system_tag(f"{prefix}x")
    assert is_system_tag(prefix)
    assert not is_system_tag(f"my-{prefix}x")
    assert not is_system_tag(prefix.rstrip(":"))


@pytest.mark.parametrize("tag", ["prod", "team:ml", "python:3.11", "users:alice", "flowtrail:1"])
def test_not_system_tags(tag: str) -> None:
    assert not is_system_tag(tag)


@pytest.mark.parametrize("prefix", sorted(EXPECTED_PREFIXES))
def test_user_tags_refuse_each_reserved_prefix(prefix: str) -> None:
    tag = f"{prefix}something"
    with pytest.raises(InvalidTag) as info:
        validate_user_tags(["prod", tag])
    message = str(info.value)
    assert repr(tag) in message
    assert "reserved" in message
    assert info.value.details == {"tag": tag}


def test_user_tag_count() -> None:
    assert MAX_USER_TAGS == 200
    two_hundred = [f"t{i}" for i in range(200)]
    assert len(validate_user_tags(two_hundred)) == 200
    with pytest.raises(InvalidTag, match="at most 200 user tags") as info:
        validate_user_tags([*two_hundred, "one-more"])
    assert info.value.details == {"count": 201, "limit": 200}


def test_duplicate_user_tags_count_once() -> None:
    tags = [f"t{i % 200}" for i in range(400)]
    assert validate_user_tags(tags) == frozenset(f"t{i}" for i in range(200))


def test_check_user_tag_count() -> None:
    check_user_tag_count(0)
    check_user_tag_count(200)
    with pytest.raises(InvalidTag, match="would give it 201"):
        check_user_tag_count(201)


def test_validate_user_tags_accepts_any_iterable() -> None:
    expected = frozenset({"a", "team:ml"})
    assert validate_user_tags(["a", "team:ml"]) == expected
    assert validate_user_tags(("a", "team:ml", "a")) == expected
    assert validate_user_tags(t for t in ["a", "team:ml"]) == expected
    assert validate_user_tags([]) == frozenset()


def test_validate_user_tags_refuses_a_bare_string() -> None:
    # A single string is an iterable of characters; taking it as such would silently tag a run
    # 'p', 'r', 'o', 'd'.
    with pytest.raises(InvalidTag, match="collection of tags"):
        validate_user_tags("prod")


@pytest.mark.parametrize("prefix", sorted(EXPECTED_PREFIXES))
def test_validate_system_tag_accepts_each_prefix(prefix: str) -> None:
    assert validate_system_tag(f"{prefix}value") == f"{prefix}value"


@pytest.mark.parametrize("tag", ["prod", "team:ml", "python:3.11"])
def test_validate_system_tag_requires_prefix(tag: str) -> None:
    with pytest.raises(InvalidTag, match="a system tag must start with one of user:"):
        validate_system_tag(tag)


def test_validate_system_tag_applies_general_rules() -> None:
    with pytest.raises(InvalidTag, match="control characters"):
        validate_system_tag("user:a\nb")
    with pytest.raises(InvalidTag, match="at most 500"):
        validate_system_tag("user:" + "a" * 496)
    assert validate_system_tag("user:" + "a" * 495)


@pytest.mark.parametrize("tag", ["👩‍💻 on call", "non\u00a0breaking", "zero\u200bwidth"])
def test_printable_unicode_is_a_fine_tag(tag: str) -> None:
    assert validate_tag(tag) == tag
