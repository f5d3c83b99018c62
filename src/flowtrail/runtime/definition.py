"""What a flow class declares besides its steps: flow metadata and default run tags.

``class TrainFlow(FlowSpec, metadata={...}, tags={...})`` keeps the two keyword arguments on
the class as given; :func:`flow_definition` checks and converts them when the flow is shown or
launched, so a mistake is one clear line (``error: ...``) before anything is recorded, as a
mistake in the graph is. A subclass inherits its bases' metadata and tags; its own add to
them, and replace entries (metadata names, ``key:`` tags) with the same name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowtrail.errors import FlowtrailError, InvalidFlow
from flowtrail.model import MetadataValue, validate_user_tags

__all__ = ["FlowDefinition", "declare", "flow_definition", "merge_tags", "tag_key"]

_DECLARED = "_flowtrail_declared"
_CACHE = "_flowtrail_definition"


@dataclass(frozen=True, slots=True)
class FlowDefinition:
    """The checked metadata and default tags of a flow class.

    Attributes:
        metadata: Flow metadata by name, as typed values.
        tags: Default user tags for every run, in declaration order.
    """

    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


def declare(cls: type, metadata: Any, tags: Any) -> None:
    """Keep the ``metadata=`` and ``tags=`` a class statement gave (checked later)."""
    setattr(cls, _DECLARED, (metadata, tags))


def tag_key(tag: str) -> str | None:
    """The key of a ``key:value`` tag (``None`` for a tag without ``:``)."""
    key, sep, _ = tag.partition(":")
    return key if sep else None


def merge_tags(defaults: Iterable[str], given: Iterable[str]) -> tuple[str, ...]:
    """The defaults, less those whose key a ``given`` ``key:value`` tag sets, then ``given``.

    A launch-time ``team:data`` replaces the class's ``team:ml``; tags without ``:`` add up.
    """
    given = list(given)
    keys = {tag_key(tag) for tag in given} - {None}
    kept = [tag for tag in defaults if tag_key(tag) not in keys]
    return tuple(dict.fromkeys([*kept, *given]))


def flow_definition(flow_cls: type) -> FlowDefinition:
    """The flow's checked metadata and default tags (cached on the class).

    Raises:
        InvalidFlow: a metadata name or value, or a tag, that the class declares is invalid.
    """
    cached = flow_cls.__dict__.get(_CACHE)
    if isinstance(cached, FlowDefinition):
        return cached
    metadata: dict[str, MetadataValue] = {}
    tags: tuple[str, ...] = ()
    for klass in reversed(flow_cls.__mro__):
        declared = klass.__dict__.get(_DECLARED)
        if declared is None:
            continue
        metadata.update(_metadata(klass.__name__, declared[0]))
        tags = merge_tags(tags, _tags(klass.__name__, declared[1]))
    definition = FlowDefinition(metadata, tags)
    setattr(flow_cls, _CACHE, definition)
    return definition


def _metadata(flow: str, given: Any) -> dict[str, MetadataValue]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise InvalidFlow(
            f"flow {flow!r}: metadata= takes a dict of name to value, got "
            f"{type(given).__name__} {given!r:.80}"
        )
    converted: dict[str, MetadataValue] = {}
    for name, value in given.items():
        if not isinstance(name, str) or not name.strip():
            raise InvalidFlow(
                f"flow {flow!r}: a metadata name must be a non-empty string, got {name!r}"
            )
        try:
            converted[name] = MetadataValue.of(value)
        except FlowtrailError as exc:
            raise InvalidFlow(
                f"flow {flow!r}: metadata {name!r}: {exc.message}",
                details={"metadata": name},
            ) from None
    return converted


def _tags(flow: str, given: Any) -> tuple[str, ...]:
    if given is None:
        return ()
    if isinstance(given, Mapping):
        tags = [f"{key}:{_tag_value(flow, key, value)}" for key, value in given.items()]
    elif isinstance(given, list | tuple | set | frozenset):
        tags = list(given)
    else:
        raise InvalidFlow(
            f"flow {flow!r}: tags= takes a dict (key: value) or a list of tags, got "
            f"{type(given).__name__} {given!r:.80}"
        )
    try:
        validate_user_tags(tags)
    except FlowtrailError as exc:
        raise InvalidFlow(f"flow {flow!r}: tags=: {exc.message}") from None
    return tuple(dict.fromkeys(tags))


def _tag_value(flow: str, key: Any, value: Any) -> str:
    if not isinstance(key, str) or not key or ":" in key:
        raise InvalidFlow(
            f"flow {flow!r}: a tag key must be a non-empty string without ':', got {key!r}"
        )
    if isinstance(value, str):
        return value
    # As in Dagster, a value that is not a string is stored as its JSON text.
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidFlow(
            f"flow {flow!r}: tag {key!r} needs a string or JSON-compatible value, got "
            f"{type(value).__name__} {value!r:.80}"
        ) from None
