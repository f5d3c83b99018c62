"""What a writer hands a metadata store: new objects, status changes, and the batch that
carries many of them in one transaction.

Each input checks itself when it is built (pathspec levels, tag rules, value types), so a bad
input fails before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flowtrail.errors import InvalidArgument
from flowtrail.model.limits import (
    MAX_HEARTBEAT_TIMEOUT,
    MIN_HEARTBEAT_TIMEOUT,
    check_attempt,
    check_int,
    check_json_depth,
)
from flowtrail.model.pathspec import Level, Pathspec, validate_id, validate_name
from flowtrail.model.records import (
    CodePackage,
    ExceptionInfo,
    ForeachFrame,
    LogStream,
    Scalar,
    StepKind,
    TriggerEvent,
)
from flowtrail.model.status import Status
from flowtrail.model.tags import check_tag_collection, validate_system_tag, validate_user_tags
from flowtrail.model.text import check_text, clean_text, is_storable
from flowtrail.model.time import check_aware
from flowtrail.model.values import MetadataValue

__all__ = [
    "AttemptEnd",
    "Batch",
    "BatchResult",
    "NewArtifact",
    "NewAttempt",
    "NewLogLine",
    "NewMetadata",
    "NewRun",
    "NewStep",
    "NewTask",
    "TaskStatusChange",
]

_MAX_FIELD_NAME = 255
_HEX_DIGITS = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to create.

    Attributes:
        flow_name: Its flow (created when first seen).
        run_id: A user-chosen id, or ``None`` for the next integer of the flow.
        status: ``running`` (default) or ``pending``.
        user: Who starts it.
        parameters: Its parameter values (JSON-compatible).
        tags: User tags.
        system_tags: System tags (each must carry a reserved prefix).
        origin_run_id: The run it resumes.
        trigger: The events that started it.
        code_package: Its code package.
        flow_metadata: The flow metadata of its definition (becomes the flow's latest).
        heartbeat_timeout: Silence after which readers record it ``lost``.
        created_at: Its creation time; ``None`` for now.
    """

    flow_name: str
    run_id: str | None = None
    status: Status = Status.RUNNING
    user: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    system_tags: frozenset[str] = frozenset()
    origin_run_id: str | None = None
    trigger: tuple[TriggerEvent, ...] = ()
    code_package: CodePackage | None = None
    flow_metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    heartbeat_timeout: timedelta = timedelta(minutes=2)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        Pathspec(self.flow_name, self.run_id)  # validates both
        object.__setattr__(self, "status", Status(self.status))
        if self.status not in (Status.RUNNING, Status.PENDING):
            raise InvalidArgument(f"a new run is running or pending, got {self.status!r}")
        object.__setattr__(self, "tags", validate_user_tags(self.tags))
        check_tag_collection(self.system_tags)
        object.__setattr__(
            self, "system_tags", frozenset(validate_system_tag(t) for t in self.system_tags)
        )
        object.__setattr__(
            self,
            "flow_metadata",
            {str(k): MetadataValue.of(v) for k, v in self.flow_metadata.items()},
        )
        if not (
            isinstance(self.heartbeat_timeout, timedelta)
            and MIN_HEARTBEAT_TIMEOUT <= self.heartbeat_timeout <= MAX_HEARTBEAT_TIMEOUT
        ):
            raise InvalidArgument(
                f"heartbeat_timeout must be a timedelta from {MIN_HEARTBEAT_TIMEOUT} to "
                f"{MAX_HEARTBEAT_TIMEOUT.days} days, got {self.heartbeat_timeout!r}"
            )
        object.__setattr__(self, "parameters", _json_object("parameters", self.parameters))
        if self.origin_run_id is not None:
            validate_id("origin run id", self.origin_run_id)
        if self.user is not None and not check_text("user", self.user, max_length=255):
            raise InvalidArgument("user must be 1 to 255 characters, got ''")
        check_aware("created_at", self.created_at)
        if self.code_package is not None:
            _json_object("code package info", self.code_package.info)


@dataclass(frozen=True, slots=True)
class NewStep:
    """A step to record in a run (``pathspec`` is ``Flow/run_id/step``)."""

    pathspec: Pathspec
    kind: StepKind = StepKind.LINEAR
    next_steps: tuple[str, ...] = ()
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        self.pathspec.expect(Level.STEP)
        object.__setattr__(self, "kind", StepKind(self.kind))
        check_aware("created_at", self.created_at)
        for name in self.next_steps:
            validate_name("step", name)


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task to record (``pathspec`` is ``Flow/run_id/step/task_id``); its step must exist."""

    pathspec: Pathspec
    status: Status = Status.RUNNING
    foreach_stack: tuple[ForeachFrame, ...] = ()
    parent_tasks: tuple[Pathspec, ...] = ()
    origin_pathspec: Pathspec | None = None
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        self.pathspec.expect(Level.TASK)
        object.__setattr__(self, "status", Status(self.status))
        for parent in self.parent_tasks:
            parent.expect(Level.TASK)
            if parent.truncate(Level.RUN) != self.pathspec.truncate(Level.RUN):
                raise InvalidArgument(f"parent task {parent} is not in the run of {self.pathspec}")
        if self.origin_pathspec is not None:
            self.origin_pathspec.expect(Level.TASK)
        check_aware("created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class TaskStatusChange:
    """A task's new status; ``at`` defaults to now (and sets ``finished_at`` when final)."""

    pathspec: Pathspec
    status: Status
    at: datetime | None = None

    def __post_init__(self) -> None:
        self.pathspec.expect(Level.TASK)
        check_aware("at", self.at)
        object.__setattr__(self, "status", Status(self.status))


@dataclass(frozen=True, slots=True)
class NewAttempt:
    """An attempt starting (``number`` counts from 0); its task must exist."""

    pathspec: Pathspec
    number: int
    host: str | None = None
    pid: int | None = None
    started_at: datetime | None = None

    def __post_init__(self) -> None:
        self.pathspec.expect(Level.TASK)
        check_attempt(self.number, "number")
        if self.host is not None:
            check_text("host", self.host, max_length=255)
        if self.pid is not None:
            check_int("pid", self.pid)
        check_aware("started_at", self.started_at)


@dataclass(frozen=True, slots=True)
class AttemptEnd:
    """An attempt finishing with a final status (and the exception, if it failed)."""

    pathspec: Pathspec
    number: int
    status: Status
    exception: ExceptionInfo | None = None
    finished_at: datetime | None = None

    def __post_init__(self) -> None:
        self.pathspec.expect(Level.TASK)
        check_attempt(self.number, "number")
        object.__setattr__(self, "status", Status(self.status))
        if not self.status.finished:
            raise InvalidArgument(
                f"an attempt ends succeeded, failed, cancelled or lost, got {self.status!r}"
            )
        if self.exception is not None and not isinstance(self.exception, ExceptionInfo):
            raise InvalidArgument(f"exception must be an ExceptionInfo, got {self.exception!r:.60}")
        check_aware("finished_at", self.finished_at)


@dataclass(frozen=True, slots=True)
class NewMetadata:
    """A metadata entry on a run (``pathspec`` ``Flow/run_id``) or a task.

    ``value`` may be a :class:`MetadataValue` or a plain value (converted on creation).
    """

    pathspec: Pathspec
    field_name: str
    value: MetadataValue
    type: str = "user"
    attempt: int | None = None
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.pathspec.level not in (Level.RUN, Level.TASK):
            raise InvalidArgument(
                f"metadata belongs to a run ('Flow/run_id') or a task "
                f"('Flow/run_id/step/task_id'), got {str(self.pathspec)!r}"
            )
        for what, text in (("field_name", self.field_name), ("type", self.type)):
            if (
                not isinstance(text, str)
                or not text
                or len(text) > _MAX_FIELD_NAME
                or not text.isprintable()
                or not is_storable(text)
            ):
                raise InvalidArgument(
                    f"metadata {what} must be 1 to {_MAX_FIELD_NAME} printable characters, "
                    f"got {text!r}"
                )
        if self.attempt is not None:
            check_attempt(self.attempt)
        object.__setattr__(self, "value", MetadataValue.of(self.value))
        check_aware("created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class NewArtifact:
    """The index row of an artifact whose bytes are already in the blob store."""

    pathspec: Pathspec
    attempt: int
    sha: str
    size: int
    python_type: str
    encoding: str
    value: Scalar | None = None
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        self.pathspec.expect(Level.ARTIFACT)
        check_attempt(self.attempt)
        if (
            not isinstance(self.sha, str)
            or len(self.sha) != 64
            or not _HEX_DIGITS.issuperset(self.sha)
        ):
            raise InvalidArgument(
                f"an artifact sha is 64 lowercase hex characters, got {self.sha!r}"
            )
        check_int("artifact size", self.size)
        check_text("python_type", self.python_type, max_length=512)
        check_text("encoding", self.encoding, max_length=32)
        if self.value is not None and not isinstance(self.value, int | float | str):
            raise InvalidArgument(
                f"an artifact's scalar value is an int, float, bool or str, got "
                f"{type(self.value).__name__}"
            )
        if isinstance(self.value, str) and not is_storable(self.value):
            # The bytes are in the blob store; such a string is just not searchable.
            object.__setattr__(self, "value", None)
        check_aware("created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class NewLogLine:
    """One log line; ``seq`` (from 0) makes a repeated append harmless."""

    pathspec: Pathspec
    attempt: int
    stream: LogStream
    seq: int
    text: str
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        self.pathspec.expect(Level.TASK)
        check_attempt(self.attempt)
        object.__setattr__(self, "stream", LogStream(self.stream))
        check_int("log line seq", self.seq)
        if not isinstance(self.text, str):
            raise InvalidArgument(f"a log line is a str, got {type(self.text).__name__}")
        object.__setattr__(self, "text", clean_text(self.text))
        check_aware("created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class Batch:
    """Many records of one run, written in one transaction, in this order: steps, tasks,
    attempts started, metadata, artifacts, log lines, attempts ended, task status changes,
    then the run's heartbeat and status.

    ``batch_id`` makes it idempotent: a batch whose id the store has already applied is not
    applied again (the result says so), so a writer may resend it after a timeout.
    """

    batch_id: str
    run: Pathspec
    steps: tuple[NewStep, ...] = ()
    tasks: tuple[NewTask, ...] = ()
    attempts: tuple[NewAttempt, ...] = ()
    metadata: tuple[NewMetadata, ...] = ()
    artifacts: tuple[NewArtifact, ...] = ()
    log_lines: tuple[NewLogLine, ...] = ()
    attempt_ends: tuple[AttemptEnd, ...] = ()
    task_statuses: tuple[TaskStatusChange, ...] = ()
    heartbeat: bool = False
    run_status: Status | None = None

    def __post_init__(self) -> None:
        self.run.expect(Level.RUN)
        if self.run_status is not None:
            object.__setattr__(self, "run_status", Status(self.run_status))
        if (
            not isinstance(self.batch_id, str)
            or not self.batch_id
            or len(self.batch_id) > 128
            or not self.batch_id.isprintable()
            or not is_storable(self.batch_id)
        ):
            raise InvalidArgument(
                f"batch_id must be 1 to 128 printable characters, got {self.batch_id!r}"
            )
        for items in (
            self.steps,
            self.tasks,
            self.attempts,
            self.metadata,
            self.artifacts,
            self.log_lines,
            self.attempt_ends,
            self.task_statuses,
        ):
            for item in items:
                # The run of an item, compared by its components (truncating to the run
                # would build a pathspec for each item of a large batch).
                spec = item.pathspec
                if spec.run_id != self.run.run_id or spec.flow != self.run.flow:
                    raise InvalidArgument(
                        f"batch {self.batch_id!r} is for run {self.run}, but it holds a "
                        f"{type(item).__name__} for {item.pathspec}"
                    )

    @property
    def size(self) -> int:
        """How many records the batch carries."""
        return (
            len(self.steps)
            + len(self.tasks)
            + len(self.attempts)
            + len(self.metadata)
            + len(self.artifacts)
            + len(self.log_lines)
            + len(self.attempt_ends)
            + len(self.task_statuses)
        )


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What :meth:`MetadataStore.write_batch` did: ``applied`` is False for a batch whose id
    had been applied before (nothing was written the second time)."""

    batch_id: str
    applied: bool
    records: int


def _json_object(what: str, value: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``value`` after checking it is a JSON object (string keys, JSON values)."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidArgument(f"{what} must be a mapping with string keys, got {value!r:.80}")
    for key, item in value.items():
        check_json_depth(f"{what} {key!r:.40}", item)
        try:
            # NaN and infinity are not JSON, and jsonb holds no NUL: PostgreSQL refuses them.
            dumped = json.dumps(item, allow_nan=False, ensure_ascii=False)
            if "\\u0000" in dumped or not is_storable(dumped):
                raise ValueError("it holds a NUL character or a lone surrogate")
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(
                f"{what} must be JSON-compatible (no NaN or infinity): {key!r} is "
                f"{type(item).__name__} {item!r:.60} ({exc})",
                details={"field": f"{what}.{key}"},
            ) from None
    return dict(value)
