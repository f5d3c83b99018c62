"""The records a metadata store returns: one frozen dataclass per object of the history.

Every record carries its :class:`~flowtrail.model.pathspec.Pathspec`; convenience properties
give its components (``run.run_id``, ``task.step_name``). Times are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flowtrail.errors import InvalidArgument
from flowtrail.model.pathspec import Level, Pathspec
from flowtrail.model.status import Status
from flowtrail.model.text import check_text, clean_text
from flowtrail.model.time import check_aware
from flowtrail.model.values import MetadataValue

__all__ = [
    "ArtifactRecord",
    "AttemptRecord",
    "CodePackage",
    "ExceptionInfo",
    "FlowRecord",
    "ForeachFrame",
    "LogLine",
    "LogStream",
    "MetadataEntry",
    "RunRecord",
    "Scalar",
    "StepKind",
    "StepRecord",
    "TagCount",
    "TaskRecord",
    "TriggerEvent",
]

#: A value small enough to be kept beside an artifact's blob, so that searches can use it.
Scalar = int | float | bool | str


class StepKind(StrEnum):
    """How a step continues: ``start`` and ``end``, a ``linear`` step, a static ``split``
    into branches, a ``foreach`` fan-out, or a ``join``."""

    START = "start"
    LINEAR = "linear"
    SPLIT = "split"
    FOREACH = "foreach"
    JOIN = "join"
    END = "end"

    @classmethod
    def _missing_(cls, value: object) -> StepKind:
        choices = ", ".join(k.value for k in cls)
        raise InvalidArgument(f"step kind must be one of {choices}; got {value!r}")


class LogStream(StrEnum):
    """The two log streams of an attempt."""

    STDOUT = "stdout"
    STDERR = "stderr"

    @classmethod
    def _missing_(cls, value: object) -> LogStream:
        choices = ", ".join(s.value for s in cls)
        raise InvalidArgument(f"log stream must be one of {choices}; got {value!r}")


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """A flow: every run recorded under one name.

    Attributes:
        pathspec: ``Flow``.
        created_at: When the flow was first seen.
        last_run_at: When its latest run was created, if it has runs.
        metadata: The flow metadata of the latest run's definition (owner, docs url, ...).
    """

    pathspec: Pathspec
    created_at: datetime
    last_run_at: datetime | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The flow name."""
        return self.pathspec.flow


@dataclass(frozen=True, slots=True)
class TagCount:
    """A tag and how many runs carry it (of one flow, or of all), from ``find_tags``.

    Attributes:
        tag: The tag (user or system).
        runs: The number of runs carrying it.
    """

    tag: str
    runs: int


@dataclass(frozen=True, slots=True)
class TriggerEvent:
    """An event that started a run.

    Attributes:
        name: The event name (or the flow name, for a run that triggered this one).
        id: The event's unique id (or the triggering run's pathspec), if known.
        timestamp: When the event was created.
        type: ``"event"`` or ``"run"``.
    """

    name: str
    timestamp: datetime
    id: str | None = None
    type: str = "event"

    def __post_init__(self) -> None:
        check_text("trigger event name", self.name, max_length=255)
        if self.id is not None:
            check_text("trigger event id", self.id, max_length=1024)
        if self.type not in ("event", "run"):
            raise InvalidArgument(f"a trigger event's type is 'event' or 'run', got {self.type!r}")
        check_aware("trigger event timestamp", self.timestamp)


@dataclass(frozen=True, slots=True)
class CodePackage:
    """The code a run executed, stored as a tarball blob.

    Attributes:
        sha: The blob key of the tarball.
        script_name: The file holding the flow, inside the tarball.
        info: Facts about the package (creation time, files, flowtrail version).
    """

    sha: str
    script_name: str
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run: one execution of a flow.

    Attributes:
        pathspec: ``Flow/run_id``.
        status: Its recorded status.
        created_at: When the run was created; never changed afterwards.
        finished_at: When it reached a final status.
        heartbeat_at: Its writer's latest heartbeat.
        heartbeat_timeout: Silence longer than this makes a reader record the run ``lost``.
        run_number: The integer id the store gave it, or ``None`` for a user-chosen id.
        user: Who started it.
        parameters: Its parameter values (JSON-compatible).
        origin_run_id: The run this one resumed, if any.
        trigger: The events that started it, oldest first.
        code_package: Its code package, if one was stored.
        user_tags: Tags users may add and remove.
        system_tags: Tags flowtrail set; they cannot be removed.
        flow_metadata: The flow metadata of the definition it ran with.
    """

    pathspec: Pathspec
    status: Status
    created_at: datetime
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    heartbeat_timeout: timedelta = timedelta(minutes=2)
    run_number: int | None = None
    user: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    origin_run_id: str | None = None
    trigger: tuple[TriggerEvent, ...] = ()
    code_package: CodePackage | None = None
    user_tags: frozenset[str] = frozenset()
    system_tags: frozenset[str] = frozenset()
    flow_metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

    @property
    def flow_name(self) -> str:
        """The flow's name."""
        return self.pathspec.flow

    @property
    def run_id(self) -> str:
        """The run id, unique within the flow."""
        assert self.pathspec.run_id is not None
        return self.pathspec.run_id

    @property
    def tags(self) -> frozenset[str]:
        """User and system tags together."""
        return self.user_tags | self.system_tags


@dataclass(frozen=True, slots=True)
class StepRecord:
    """A step of a run.

    Attributes:
        pathspec: ``Flow/run_id/step``.
        kind: How it continues (start, linear, split, foreach, join, end).
        next_steps: The steps it leads to.
        created_at: When it was recorded.
        finished_at: When the latest of its tasks finished (the latest ``finished_at`` of
            its tasks; it may move while a foreach runs), or ``None`` while none has; read by
            the store with the step.
    """

    pathspec: Pathspec
    kind: StepKind
    created_at: datetime
    next_steps: tuple[str, ...] = ()
    finished_at: datetime | None = None

    @property
    def name(self) -> str:
        """The step name."""
        assert self.pathspec.step is not None
        return self.pathspec.step


@dataclass(frozen=True, slots=True)
class ForeachFrame:
    """One level of foreach nesting: the step that fanned out, and this task's place in it."""

    step: str
    index: int
    num_splits: int | None = None


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task: one execution of a step (several for a foreach).

    Attributes:
        pathspec: ``Flow/run_id/step/task_id``.
        status: Its recorded status.
        created_at: When it was recorded.
        finished_at: When it reached a final status.
        foreach_stack: Its place in each enclosing foreach, outermost first.
        parent_tasks: The tasks whose output it took.
        origin_pathspec: The task it was cloned from by a resume, if any.
        latest_attempt: The number of its latest attempt, ``None`` before its first
            attempt starts (and for a task cloned by a resume, which has none).
    """

    pathspec: Pathspec
    status: Status
    created_at: datetime
    finished_at: datetime | None = None
    foreach_stack: tuple[ForeachFrame, ...] = ()
    parent_tasks: tuple[Pathspec, ...] = ()
    origin_pathspec: Pathspec | None = None
    latest_attempt: int | None = None

    @property
    def task_id(self) -> str:
        """The task id, unique within the run."""
        assert self.pathspec.task_id is not None
        return self.pathspec.task_id

    @property
    def step_name(self) -> str:
        """The step the task belongs to."""
        assert self.pathspec.step is not None
        return self.pathspec.step

    @property
    def foreach_index(self) -> int | None:
        """Its index in the innermost foreach, or ``None`` outside any foreach."""
        return self.foreach_stack[-1].index if self.foreach_stack else None


@dataclass(frozen=True, slots=True)
class ExceptionInfo:
    """What an attempt raised: the exception's type, its message and the traceback text."""

    type: str
    message: str
    traceback: str = ""

    def __post_init__(self) -> None:
        # Captured from a program: cleaned, never refused (see flowtrail.model.text).
        for name in ("type", "message", "traceback"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise InvalidArgument(f"exception {name} must be a str, got {value!r:.60}")
            object.__setattr__(self, name, clean_text(value))


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt at a task (several when it is retried); attempts count from 0.

    Attributes:
        pathspec: The task's pathspec.
        number: 0 for the first attempt.
        status: Its recorded status.
        started_at: When it started.
        finished_at: When it finished.
        host: The machine it ran on.
        pid: The process that ran it.
        exception: What it raised, if it failed.
    """

    pathspec: Pathspec
    number: int
    status: Status
    started_at: datetime
    finished_at: datetime | None = None
    host: str | None = None
    pid: int | None = None
    exception: ExceptionInfo | None = None


@dataclass(frozen=True, slots=True)
class MetadataEntry:
    """One metadata entry on a run or a task.

    Attributes:
        pathspec: The run or task it belongs to.
        field_name: Its name.
        value: The typed value.
        type: Who recorded it and why: ``"user"`` for entries written during a step, or a
            system kind (``"attempt"``, ``"runtime"``, ``"host"``, ...).
        created_at: When it was recorded.
        attempt: The attempt it belongs to, for task entries written by an attempt.
    """

    pathspec: Pathspec
    field_name: str
    value: MetadataValue
    type: str
    created_at: datetime
    attempt: int | None = None

    @property
    def ts_epoch(self) -> int:
        """``created_at`` as epoch milliseconds, as the reference client shows it."""
        from flowtrail.model.time import to_epoch_ms

        return to_epoch_ms(self.created_at)


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """The index row of an artifact: where its bytes are and what they are.

    Attributes:
        pathspec: ``Flow/run_id/step/task_id/name``.
        attempt: The attempt that produced it.
        sha: The blob key of its serialised bytes.
        size: Its serialised size in bytes.
        python_type: The Python type it was serialised from (``builtins.float``).
        encoding: How it was serialised (``pickle-v5``, ``json``, ``utf-8``, ``bytes``).
        created_at: When it was recorded.
        value: The value itself when it is a scalar (int, float, bool, short str).
    """

    pathspec: Pathspec
    attempt: int
    sha: str
    size: int
    python_type: str
    encoding: str
    created_at: datetime
    value: Scalar | None = None

    @property
    def name(self) -> str:
        """The artifact name."""
        assert self.pathspec.artifact is not None
        return self.pathspec.artifact

    @property
    def task_pathspec(self) -> Pathspec:
        """The task that produced it."""
        return self.pathspec.truncate(Level.TASK)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of an attempt's stdout or stderr.

    Attributes:
        pathspec: The task's pathspec.
        attempt: The attempt that wrote it.
        stream: ``stdout`` or ``stderr``.
        seq: Its position in the stream, from 0; unique per task, attempt and stream.
        created_at: When it was written.
        text: The line, without its newline.
    """

    pathspec: Pathspec
    attempt: int
    stream: LogStream
    seq: int
    created_at: datetime
    text: str
