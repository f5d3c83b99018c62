"""Pathspecs: the address of every object in the history, ``Flow[/run[/step[/task[/artifact]]]]``.

Flow, step and artifact names follow Python identifier rules; run ids and task ids are
non-empty strings without ``/`` (and without whitespace or control characters).
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from flowtrail.errors import InvalidPathspec

__all__ = ["Level", "Pathspec", "validate_id", "validate_name"]


class Level(IntEnum):
    """The level of an object in the hierarchy; the value is its number of components."""

    FLOW = 1
    RUN = 2
    STEP = 3
    TASK = 4
    ARTIFACT = 5

    @property
    def shape(self) -> str:
        """The pathspec shape of this level, for messages: ``'Flow/run_id/step'``."""
        return "/".join(_SHAPE[: self.value])


_SHAPE = ("Flow", "run_id", "step", "task_id", "artifact")
_FIELDS = ("flow", "run_id", "step", "task_id", "artifact")
_MAX_PART = 255


def validate_name(kind: str, value: str) -> str:
    """Check a flow, step or artifact name: a Python identifier, at most 255 characters.

    Raises:
        InvalidPathspec: naming the kind, the rule and the value given.
    """
    if (
        not isinstance(value, str)
        or not value.isidentifier()
        or keyword.iskeyword(value)
        or len(value) > _MAX_PART
    ):
        raise InvalidPathspec(
            f"{kind} name must be a Python identifier (letters, digits, '_', not starting "
            f"with a digit, not a keyword, at most {_MAX_PART} characters), got {value!r}",
            details={"field": kind, "value": repr(value)},
        )
    return value


def validate_id(kind: str, value: str) -> str:
    """Check a run id or task id: a non-empty string without '/', whitespace or controls.

    Raises:
        InvalidPathspec: naming the kind, the rule and the value given.
    """
    if (
        not isinstance(value, str)
        or not value
        or len(value) > _MAX_PART
        # Of the whitespace characters only ' ' is printable: these three tests are the
        # per-character rule ('/', whitespace, control), in C rather than a Python loop.
        or "/" in value
        or " " in value
        or not value.isprintable()
    ):
        raise InvalidPathspec(
            f"{kind} must be a non-empty string of at most {_MAX_PART} characters without "
            f"'/', spaces or control characters, got {value!r}",
            details={"field": kind, "value": repr(value)},
        )
    return value


@dataclass(frozen=True, slots=True)
class Pathspec:
    """The address of a flow, run, step, task or artifact.

    Build one with :meth:`parse` or the level constructors; components after the first
    ``None`` must be ``None`` too. ``str(p)`` formats it back.

    Example:
        >>> p = Pathspec.parse("TrainFlow/12/train/345")
        >>> p.level, p.parent, p.components
        (<Level.TASK: 4>, Pathspec('TrainFlow/12/train'), ('TrainFlow', '12', 'train', '345'))
    """

    flow: str
    run_id: str | None = None
    step: str | None = None
    task_id: str | None = None
    artifact: str | None = None
    # The number of components, worked out once (pathspecs are built and compared a lot).
    _depth: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = (self.flow, self.run_id, self.step, self.task_id, self.artifact)
        depth = 1 + max((i for i, part in enumerate(parts) if part is not None), default=0)
        object.__setattr__(self, "_depth", depth)
        if any(p is None for p in parts[:depth]):
            raise InvalidPathspec(
                f"expected {Level(depth).shape!r} with every component given, got "
                f"{'/'.join(str(p) for p in parts[:depth])!r}",
                details={"value": "/".join(str(p) for p in parts[:depth])},
            )
        validate_name("flow", self.flow)
        if self.run_id is not None:
            validate_id("run id", self.run_id)
        if self.step is not None:
            validate_name("step", self.step)
        if self.task_id is not None:
            validate_id("task id", self.task_id)
        if self.artifact is not None:
            validate_name("artifact", self.artifact)

    @classmethod
    def parse(cls, text: str, level: Level | None = None) -> Pathspec:
        """Parse ``'Flow/run/step/task/artifact'`` (any prefix of it).

        Args:
            text: The pathspec.
            level: When given, the pathspec must have exactly this level.

        Raises:
            InvalidPathspec: with the expected shape and the text given, e.g.
                ``expected 'Flow/run_id/step', got 'a/b/c/d/e/f'``.
        """
        expected = level.shape if level else "Flow[/run_id[/step[/task_id[/artifact]]]]"
        if not isinstance(text, str):
            raise InvalidPathspec(f"expected a pathspec string {expected!r}, got {text!r}")
        parts = text.split("/")
        if not text or len(parts) > len(Level) or (level is not None and len(parts) != level):
            raise InvalidPathspec(f"expected {expected!r}, got {text!r}", details={"value": text})
        if any(not part for part in parts):
            raise InvalidPathspec(
                f"expected {expected!r} without empty components, got {text!r}",
                details={"value": text},
            )
        return cls(*parts)

    @classmethod
    def of(cls, *components: str) -> Pathspec:
        """Build a pathspec from its components: ``Pathspec.of('F', '12', 'start')``."""
        if not 1 <= len(components) <= len(Level):
            raise InvalidPathspec(
                f"expected 1 to {len(Level)} components, got {len(components)}: {components!r}"
            )
        return cls(*components)

    @classmethod
    def _trusted(cls, parts: tuple[str, ...]) -> Pathspec:
        # For components taken from pathspecs that were validated already (every record a
        # store reads has one): the slots are set through their descriptors, three times
        # quicker than a loop of object.__setattr__.
        spec = object.__new__(cls)
        padded = parts + _NONES[len(parts)]
        flow, run_id, step, task_id, artifact, depth = _SLOT_SETTERS
        flow(spec, padded[0])
        run_id(spec, padded[1])
        step(spec, padded[2])
        task_id(spec, padded[3])
        artifact(spec, padded[4])
        depth(spec, len(parts))
        return spec

    @property
    def level(self) -> Level:
        """The level of the object this pathspec names."""
        return _LEVELS[self._depth - 1]

    @property
    def components(self) -> tuple[str, ...]:
        """The components, from the flow name down: ``('F', '12', 'start')``."""
        parts = (self.flow, self.run_id, self.step, self.task_id, self.artifact)
        return parts[: self._depth]  # type: ignore[return-value]

    @property
    def parent(self) -> Pathspec | None:
        """The pathspec one level up, or ``None`` for a flow."""
        return None if self._depth == 1 else Pathspec._trusted(self.components[:-1])

    @property
    def id(self) -> str:
        """The last component: the flow name, run id, step name, task id or artifact name."""
        return self.components[-1]

    def child(self, name: str) -> Pathspec:
        """The pathspec one level down: ``Pathspec.parse('F/12').child('start')``."""
        if self._depth == len(_SHAPE):
            raise InvalidPathspec(f"an artifact pathspec has no children, got {str(self)!r}")
        if self._depth in (Level.RUN, Level.TASK):  # the child is a step or an artifact
            validate_name(_SHAPE[self._depth], name)
        else:
            validate_id(_SHAPE[self._depth].replace("_", " "), name)
        return Pathspec._trusted((*self.components, name))

    def expect(self, level: Level) -> Pathspec:
        """Return ``self`` if it names an object of ``level``.

        Raises:
            InvalidPathspec: ``expected 'Flow/run_id', got 'F/1/start'``.
        """
        if self.level != level:
            raise InvalidPathspec(
                f"expected {level.shape!r}, got {str(self)!r}", details={"value": str(self)}
            )
        return self

    def truncate(self, level: Level) -> Pathspec:
        """The ancestor (or self) at ``level``: the run of a task, the flow of a run."""
        if level > self.level:
            raise InvalidPathspec(
                f"{str(self)!r} has no {level.name.lower()} component "
                f"(expected at least {level.shape!r})"
            )
        return self if level == self._depth else Pathspec._trusted(self.components[: level.value])

    def __str__(self) -> str:
        return "/".join(self.components)

    def __repr__(self) -> str:
        return f"Pathspec({str(self)!r})"


_LEVELS = tuple(Level)
#: The ``None`` components that complete ``n`` given ones, for each ``n``.
_NONES: tuple[tuple[None, ...], ...] = tuple(
    (None,) * (len(_SHAPE) - n) for n in range(len(_SHAPE) + 1)
)
#: The ``__set__`` of each slot of a pathspec, in field order, then ``_depth``'s.
_SLOT_SETTERS: tuple[Any, ...] = tuple(
    getattr(Pathspec, name).__set__ for name in (*_FIELDS, "_depth")
)
