"""``current``: what the running task knows about itself (flow, run, step, task, attempt)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowtrail.errors import FlowtrailError
from flowtrail.model import MetadataValue, NewMetadata, Pathspec, utc_now
from flowtrail.runtime.messages import RunContext

__all__ = ["Current", "current"]


@dataclass(slots=True)
class TaskContext:
    """The task a worker is running (set by the worker, read through ``current``)."""

    run: RunContext
    step_name: str
    task_id: str
    retry_count: int
    #: Where an entry goes the moment it is set (the worker sends it to the scheduler, so
    #: it is recorded even if the attempt dies later).
    emit: Callable[[NewMetadata], None]

    def record(self, key: str, value: Any) -> NewMetadata:
        """A user metadata entry of this attempt, checked and sent on.

        Raises:
            InvalidArgument: ``key`` cannot name a metadata field.
        """
        pathspec = Pathspec.of(self.run.flow_name, self.run.run_id, self.step_name, self.task_id)
        try:
            typed = MetadataValue.of(value)
        except FlowtrailError:  # a value no metadata type holds is kept as its repr
            typed = MetadataValue.of(repr(value))
        # Through its text, so that only builtin types travel to the scheduler (a str or
        # float subclass of the step's could not be unpickled there).
        typed = MetadataValue.from_text(typed.type, typed.to_text())
        entry = NewMetadata(pathspec, key, typed, "user", self.retry_count, utc_now())
        self.emit(entry)
        return entry


class Current:
    """The running task's identity; outside a running flow every attribute is ``None``.

    Attributes are ``flow_name``, ``run_id``, ``step_name``, ``task_id``, ``pathspec``
    (``Flow/run_id/step/task_id``), ``retry_count`` (0 for the first attempt),
    ``origin_run_id`` (the run a resumed run comes from), ``username``, ``tags`` (the run's
    tags), ``partition`` (the run's partition key) and ``is_running_flow``.
    """

    def __init__(self) -> None:
        self._task: TaskContext | None = None

    def _enter(self, task: TaskContext | None) -> None:
        self._task = task

    @property
    def is_running_flow(self) -> bool:
        """Whether code runs inside a step of a flow."""
        return self._task is not None

    @property
    def flow_name(self) -> str | None:
        """The flow's name."""
        return self._task.run.flow_name if self._task else None

    @property
    def run_id(self) -> str | None:
        """The run's id."""
        return self._task.run.run_id if self._task else None

    @property
    def step_name(self) -> str | None:
        """The running step."""
        return self._task.step_name if self._task else None

    @property
    def task_id(self) -> str | None:
        """The running task's id."""
        return self._task.task_id if self._task else None

    @property
    def pathspec(self) -> str | None:
        """``Flow/run_id/step/task_id`` of the running task."""
        if self._task is None:
            return None
        run = self._task.run
        return f"{run.flow_name}/{run.run_id}/{self._task.step_name}/{self._task.task_id}"

    @property
    def retry_count(self) -> int | None:
        """The attempt number: 0 for the first attempt, 1 for the first retry."""
        return self._task.retry_count if self._task else None

    @property
    def origin_run_id(self) -> str | None:
        """For a resumed run, the run it resumes."""
        return self._task.run.origin_run_id if self._task else None

    @property
    def username(self) -> str | None:
        """Who started the run."""
        return self._task.run.username if self._task else None

    @property
    def tags(self) -> frozenset[str]:
        """The run's tags (user and system) when it started."""
        return frozenset(self._task.run.tags) if self._task else frozenset()

    @property
    def partition(self) -> str | None:
        """The run's partition key (``python flow.py run --partition KEY``), else ``None``."""
        if self._task is None:
            return None
        for tag in self._task.run.tags:
            if tag.startswith("partition:"):
                return tag[len("partition:") :]
        return None

    def set_metadata(self, key: str, value: Any) -> None:
        """Record a user metadata entry on the running task and attempt, at once.

        Raises:
            RuntimeError: outside a running step.
            InvalidArgument: ``key`` cannot name a metadata field (1 to 255 printable
                characters).
        """
        if self._task is None:
            raise RuntimeError("current.set_metadata(...) works only inside a running step")
        self._task.record(key, value)

    def __repr__(self) -> str:
        return f"<current {self.pathspec or 'outside a flow'}>"


current = Current()
