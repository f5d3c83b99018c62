"""Tags that change how a run executes: ``flowtrail/max_retries:N``,
``flowtrail/max_workers:N`` and ``flowtrail/timeout_seconds:N``.

They are user tags (set on the class or at launch, kept on the run for the record) that the
runtime reads once, at launch. Precedence, strongest first: a step's own decorator
(``@retry``, ``@timeout``) or an explicit ``--max-workers``; then a launch-time tag; then a
class tag; then the built-in default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from flowtrail.errors import InvalidTag
from flowtrail.runtime.decorators import StepOptions

__all__ = ["EXECUTION_PREFIX", "ExecutionTags", "parse_execution_tags"]

#: The prefix of every execution tag.
EXECUTION_PREFIX = "flowtrail/"

# key -> (smallest value, largest value, what it means)
_KEYS: dict[str, tuple[int, int, str]] = {
    "max_retries": (0, 100, "retries of every step without @retry"),
    "max_workers": (1, 1024, "worker processes"),
    "timeout_seconds": (1, 10**7, "seconds an attempt of a step without @timeout may run"),
}


@dataclass(frozen=True, slots=True)
class ExecutionTags:
    """The run-wide defaults execution tags set (``None``: not set).

    Attributes:
        max_retries: Retries for every step that has no ``@retry``.
        max_workers: The worker pool's size, unless ``--max-workers`` is given.
        timeout_seconds: The per-attempt limit of every step that has no ``@timeout``.
    """

    max_retries: int | None = None
    max_workers: int | None = None
    timeout_seconds: int | None = None

    def step_options(self, options: StepOptions) -> StepOptions:
        """A step's options with these defaults filled in where its decorators set none."""
        if self.max_retries is not None and not options.retry_set:
            options = replace(options, retries=self.max_retries, retry_delay=0.0)
        if self.timeout_seconds is not None and options.timeout is None:
            options = replace(
                options,
                timeout=float(self.timeout_seconds),
                timeout_source=f"{EXECUTION_PREFIX}timeout_seconds",
            )
        return options


def parse_execution_tags(tags: Iterable[str]) -> ExecutionTags:
    """Read the execution tags among ``tags`` (other tags are ignored).

    Raises:
        InvalidTag: an unknown ``flowtrail/`` key, a value that is not an integer in range,
            or one key given twice with different values.
    """
    values: dict[str, int] = {}
    for tag in tags:
        if not tag.startswith(EXECUTION_PREFIX):
            continue
        key, sep, text = tag[len(EXECUTION_PREFIX) :].partition(":")
        known = ", ".join(f"{EXECUTION_PREFIX}{k}:N" for k in _KEYS)
        if key not in _KEYS or not sep:
            raise InvalidTag(
                f"unknown execution tag {tag!r}; the execution tags are {known}",
                details={"tag": tag},
            )
        low, high, meaning = _KEYS[key]
        value = int(text) if text.isascii() and text.isdigit() else None
        if value is None or not low <= value <= high:
            raise InvalidTag(
                f"tag {tag!r}: {EXECUTION_PREFIX}{key} takes an integer from {low} to {high} "
                f"({meaning}), got {text!r}",
                details={"tag": tag},
            )
        if key in values and values[key] != value:
            raise InvalidTag(
                f"{EXECUTION_PREFIX}{key} is given twice, as {values[key]} and {value}; "
                "give it once",
                details={"tag": tag},
            )
        values[key] = value
    return ExecutionTags(**values)
