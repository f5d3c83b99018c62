"""Tag rules. A tag is a string on a run; ``key:value`` is the convention for key/value tags.

User tags can be added, removed and replaced at any time. System tags are set by flowtrail;
they start with one of :data:`SYSTEM_TAG_PREFIXES`, and users can neither add nor remove them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from flowtrail.errors import InvalidTag

__all__ = [
    "MAX_TAG_LENGTH",
    "MAX_USER_TAGS",
    "SYSTEM_TAG_PREFIXES",
    "check_tag_collection",
    "check_user_tag_count",
    "is_system_tag",
    "validate_new_tag",
    "validate_system_tag",
    "validate_tag",
    "validate_user_tags",
]

MAX_TAG_LENGTH = 500
MAX_USER_TAGS = 200

#: Prefixes reserved for tags that flowtrail sets itself.
SYSTEM_TAG_PREFIXES: tuple[str, ...] = (
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
)


def is_system_tag(tag: str) -> bool:
    """True when ``tag`` starts with a reserved system prefix."""
    return tag.startswith(SYSTEM_TAG_PREFIXES)


def validate_tag(tag: str) -> str:
    """Check the rules every tag follows: a non-empty string of at most 500 characters
    without control characters.

    Raises:
        InvalidTag: saying which rule and showing (the start of) the tag.
    """
    if not isinstance(tag, str):
        raise InvalidTag(f"a tag must be a string, got {type(tag).__name__} {tag!r}")
    if not tag or tag.isspace():
        raise InvalidTag(f"a tag must not be empty or blank, got {tag!r}")
    if len(tag) > MAX_TAG_LENGTH:
        raise InvalidTag(
            f"a tag has at most {MAX_TAG_LENGTH} characters, got {len(tag)}: {tag[:40]!r}...",
            details={"length": len(tag)},
        )
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in tag):
        raise InvalidTag(
            f"a tag must not contain control characters or lone surrogates, got {tag!r}"
        )
    return tag


def validate_new_tag(tag: str) -> str:
    """Check a tag about to be put on a run: the rules of :func:`validate_tag`, and no space
    at either end (``'prod '`` would look like ``prod`` and never match it).

    Tags are still found and removed by :func:`validate_tag` alone, so a run carrying such a
    tag from an older version can lose it.

    Raises:
        InvalidTag: saying which rule, and the tag without the spaces.
    """
    validate_tag(tag)
    if tag != tag.strip():
        raise InvalidTag(
            f"a tag must not begin or end with whitespace, got {tag!r}; did you mean "
            f"{tag.strip()!r}?",
            details={"tag": tag},
        )
    return tag


def validate_system_tag(tag: str) -> str:
    """Check a tag that flowtrail itself sets: the rules of a new tag plus a reserved prefix."""
    validate_new_tag(tag)
    if not is_system_tag(tag):
        raise InvalidTag(
            f"a system tag must start with one of {', '.join(SYSTEM_TAG_PREFIXES)}; got {tag!r}"
        )
    return tag


def validate_user_tags(tags: Iterable[str]) -> frozenset[str]:
    """Check tags a user adds: the rules of a new tag, no reserved prefix, at most 200 of them.

    Raises:
        InvalidTag: for the first tag that breaks a rule, or for too many tags.
    """
    check_tag_collection(tags)
    result = frozenset(validate_new_tag(tag) for tag in tags)
    reserved = sorted(tag for tag in result if is_system_tag(tag))
    if reserved:
        raise InvalidTag(
            f"tag {reserved[0]!r} uses a prefix reserved for system tags "
            f"({', '.join(SYSTEM_TAG_PREFIXES)}); choose another prefix, e.g. "
            f"'my-{reserved[0]}'",
            details={"tag": reserved[0]},
        )
    check_user_tag_count(len(result))
    return result


def check_tag_collection(tags: object) -> None:
    """Raise :class:`InvalidTag` when ``tags`` is a single string rather than a collection.

    A string is an iterable of its characters: taken as tags, ``"prod"`` would tag a run
    ``p``, ``r``, ``o`` and ``d``.
    """
    if isinstance(tags, str):
        raise InvalidTag(
            f"expected a collection of tags, got the single string {tags!r}; "
            f"write [{tags!r}] for one tag"
        )


def check_user_tag_count(count: int) -> None:
    """Raise :class:`InvalidTag` when a run would carry more than 200 user tags."""
    if count > MAX_USER_TAGS:
        raise InvalidTag(
            f"a run carries at most {MAX_USER_TAGS} user tags, this change would give it {count}",
            details={"count": count, "limit": MAX_USER_TAGS},
        )
