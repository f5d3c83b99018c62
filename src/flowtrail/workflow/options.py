"""Task options as Ray Workflows has them: ``max_retries``, ``retry_exceptions``,
``catch_exceptions``, ``checkpoint``, a ``task_id`` and user ``metadata``, and
:class:`options`, the mapping ``fn.options(**workflow.options(...))`` takes."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flowtrail.errors import InvalidPathspec
from flowtrail.model import validate_id

__all__ = ["TaskOptions", "options", "validate_user_metadata"]

#: The key under which Ray keeps workflow options among a task's remote options.
WORKFLOW_OPTIONS = "workflow.io/options"
_WORKFLOW_KEYS = ("task_id", "metadata", "catch_exceptions", "checkpoint")
_TASK_KEYS = ("max_retries", "retry_exceptions")


def validate_user_metadata(metadata: Any) -> None:
    """Check user metadata as Ray does: ``None`` or a JSON-serialisable dict.

    Raises:
        ValueError: ``"metadata must be a dict."`` or ``"metadata must be JSON serializable,
            instead, we got 'TypeError: ...'"``.
    """
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise ValueError("metadata must be a dict.")
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"metadata must be JSON serializable, instead, we got '{type(exc).__name__}: {exc}'"
        ) from None


class options(Mapping[str, Any]):  # noqa: N801 - Ray's name, used as workflow.options(...)
    """Workflow options for a task, as a mapping for ``fn.options(**workflow.options(...))``.

    Example::

        trip.options(**workflow.options(task_id="trip", metadata={"k1": "v1"})).bind()

    Args:
        task_id: The task's id in its workflow.
        metadata: The task's user metadata (a JSON-serialisable dict).
        catch_exceptions: Return ``(result, None)`` or ``(None, exception)``.
        checkpoint: Keep the task's output for resuming (default True).

    Raises:
        ValueError: an unknown keyword, or metadata that is not a JSON-serialisable dict.
    """

    def __init__(self, **workflow_options: Any) -> None:
        unknown = set(workflow_options) - set(_WORKFLOW_KEYS)
        if unknown:
            raise ValueError(
                f"Invalid option keywords {unknown} for workflow tasks. "
                f"Valid ones are {set(_WORKFLOW_KEYS)}."
            )
        validate_user_metadata(workflow_options.get("metadata"))
        self._options = {"_metadata": {WORKFLOW_OPTIONS: dict(workflow_options)}}

    def __getitem__(self, key: str) -> Any:
        return self._options[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._options)

    def __len__(self) -> int:
        return len(self._options)

    def __repr__(self) -> str:
        return f"workflow.options({self._options['_metadata'][WORKFLOW_OPTIONS]!r})"


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """The options of a task (Ray's defaults).

    Attributes:
        max_retries: Attempts after the first one (a crashed worker is always retried; an
            exception only with ``retry_exceptions``).
        retry_exceptions: Retry when the function raises.
        workflow_options: What was given as workflow options (``task_id``, ``metadata``,
            ``catch_exceptions``, ``checkpoint``), as Ray records them.
        given: The keys of Ray's bound options that were given (``max_retries``,
            ``retry_exceptions``, ``_metadata`` for any workflow option), in the order they
            first were: Ray reports exactly those as ``ray_options``.
    """

    max_retries: int = 3
    retry_exceptions: bool = False
    workflow_options: Mapping[str, Any] = field(default_factory=dict)
    given: tuple[str, ...] = ()

    @property
    def task_id(self) -> str | None:
        """The task id given, if any."""
        value = self.workflow_options.get("task_id")
        return None if value is None else str(value)

    @property
    def metadata(self) -> dict[str, Any]:
        """The task's user metadata ({} by default)."""
        return dict(self.workflow_options.get("metadata") or {})

    @property
    def catch_exceptions(self) -> bool:
        """Whether the task returns ``(result, exception)``."""
        return bool(self.workflow_options.get("catch_exceptions", False))

    @property
    def checkpoint(self) -> bool:
        """Whether the task's output is kept for resuming."""
        return bool(self.workflow_options.get("checkpoint", True))

    def updated(self, given: Mapping[str, Any]) -> TaskOptions:
        """These options with ``given`` applied (keywords of ``.options(...)``).

        Raises:
            ValueError: an unknown keyword or a value of the wrong type.
        """
        known = {*_WORKFLOW_KEYS, *_TASK_KEYS, "_metadata"}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(
                f"Invalid option keywords {unknown} for workflow tasks. Valid ones are "
                f"{sorted(known - {'_metadata'})} and **workflow.options(...)."
            )
        merged = dict(self.workflow_options)
        meta = given.get("_metadata", {})
        if not isinstance(meta, Mapping) or set(meta) - {WORKFLOW_OPTIONS}:
            raise ValueError(f"_metadata must come from workflow.options(...), got {meta!r}")
        merged.update(meta.get(WORKFLOW_OPTIONS, {}))
        merged.update({k: given[k] for k in _WORKFLOW_KEYS if k in given})
        # A workflow option given as a keyword is kept where workflow.options(...) puts it.
        keys = [key if key in _TASK_KEYS else "_metadata" for key in given]
        result = replace(
            self,
            max_retries=given.get("max_retries", self.max_retries),
            retry_exceptions=given.get("retry_exceptions", self.retry_exceptions),
            workflow_options=merged,
            given=tuple(dict.fromkeys([*self.given, *keys])),
        )
        result.check()
        return result

    def check(self) -> None:
        """Raise ``ValueError`` for a value of the wrong type."""
        retries = self.max_retries
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {retries!r}")
        flags = (
            ("retry_exceptions", self.retry_exceptions),
            ("catch_exceptions", self.workflow_options.get("catch_exceptions", False)),
            ("checkpoint", self.workflow_options.get("checkpoint", True)),
        )
        for name, value in flags:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be a bool, got {value!r}")
        validate_user_metadata(self.workflow_options.get("metadata"))
        task_id = self.workflow_options.get("task_id")
        if task_id is not None:
            try:
                validate_id("task_id", task_id)
            except InvalidPathspec as exc:
                raise ValueError(str(exc)) from None

    def as_ray(self) -> dict[str, Any]:
        """The ``task_options`` dict of Ray's ``get_metadata``; its ``ray_options`` are the
        options given, as Ray's bound options (the decorator's, then ``.options``')."""
        values = {
            "max_retries": self.max_retries,
            "retry_exceptions": self.retry_exceptions,
            "_metadata": {WORKFLOW_OPTIONS: dict(self.workflow_options)},
        }
        keys = list(self.given)
        if self.workflow_options and "_metadata" not in keys:  # recorded without ``given``
            keys.append("_metadata")
        ray_options = {
            key: values[key] for key in keys if key != "_metadata" or self.workflow_options
        }
        return {
            "task_type": "FUNCTION",
            "max_retries": self.max_retries,
            "catch_exceptions": self.catch_exceptions,
            "retry_exceptions": self.retry_exceptions,
            "checkpoint": self.checkpoint,
            "ray_options": ray_options,
        }
