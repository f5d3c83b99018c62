"""Request models: what a writer sends, one model per input of :mod:`flowtrail.model`.

``Model.of(input)`` builds the body the HTTP store sends; ``model.to_input(path)`` rebuilds
the input on the service, where the input's own checks run. An input that breaks a rule is
refused with the field path in front of the message (``body.tasks.2: expected
'Flow/run_id/step/task_id', got 'F/1'``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, Strict

from flowtrail.errors import InvalidArgument, InvalidPathspec
from flowtrail.model import (
    AttemptEnd,
    Batch,
    BatchResult,
    Level,
    LogStream,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    Pathspec,
    Status,
    StepKind,
    TaskStatusChange,
    validate_id,
    validate_name,
    validate_system_tag,
    validate_user_tags,
)
from flowtrail.model.limits import MAX_HEARTBEAT_TIMEOUT, MIN_HEARTBEAT_TIMEOUT, check_json_depth
from flowtrail.model.text import check_text
from flowtrail.wire.base import (
    AttemptNumber,
    Bool,
    Count,
    Int,
    Ms,
    Str,
    WireModel,
    at_field,
    field_error,
)
from flowtrail.wire.records import (
    CodePackageModel,
    ExceptionModel,
    ForeachFrameModel,
    MetadataValueModel,
    ScalarModel,
    TriggerEventModel,
    metadata_map,
    ms_or_none,
    time_or_none,
    value_map,
)

__all__ = [
    "AttemptEndModel",
    "BatchModel",
    "BatchResultModel",
    "HeartbeatModel",
    "NewArtifactModel",
    "NewArtifactsModel",
    "NewAttemptModel",
    "NewFlowModel",
    "NewLogLineModel",
    "NewLogLinesModel",
    "NewMetadataListModel",
    "NewMetadataModel",
    "NewRunModel",
    "NewStepModel",
    "NewTaskModel",
    "ReplaceTagsModel",
    "StatusChangeModel",
    "TagsModel",
]


#: A run's heartbeat timeout in milliseconds: what :class:`~flowtrail.model.NewRun` accepts.
_HeartbeatMs = Annotated[
    int,
    Strict(),
    Field(
        ge=MIN_HEARTBEAT_TIMEOUT // timedelta(milliseconds=1),
        le=MAX_HEARTBEAT_TIMEOUT // timedelta(milliseconds=1),
    ),
]


def _spec(text: str, level: Level | None, path: str) -> Pathspec:
    """``Pathspec.parse(text, level)``, an error naming the field ``path``.

    A batch names each task about ten times (task, attempt, metadata, artifacts, end,
    status) and its run, steps and tasks in every artifact's pathspec: :func:`_parse`
    builds each pathspec from its parent's, remembered, checking only the new component.
    It accepts exactly what ``Pathspec.parse`` does; whatever it refuses is parsed again
    by ``Pathspec.parse``, for the message that shows the expected shape.
    """
    slashes = text.count("/")
    if slashes == level - 1 if level is not None else slashes < len(Level):
        try:
            return _parse(text)
        except InvalidPathspec:
            pass
    try:
        return Pathspec.parse(text, level)
    except InvalidArgument as exc:
        raise field_error(path, exc) from exc


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Pathspec:
    head, slash, last = text.rpartition("/")
    return _parse(head).child(last) if slash else Pathspec.parse(text)


class NewFlowModel(WireModel):
    """A flow to create (``POST /api/v1/flows``)."""

    name: Str
    metadata: dict[str, MetadataValueModel] = Field(default_factory=dict)


class NewRunModel(WireModel):
    """A :class:`~flowtrail.model.NewRun` (``POST /api/v1/runs``)."""

    flow_name: Str
    run_id: Str | None = None
    status: Status = Status.RUNNING
    user: Str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    tags: list[Str] = Field(default_factory=list)
    system_tags: list[Str] = Field(default_factory=list)
    origin_run_id: Str | None = None
    trigger: list[TriggerEventModel] = Field(default_factory=list)
    code_package: CodePackageModel | None = None
    flow_metadata: dict[str, MetadataValueModel] = Field(default_factory=dict)
    heartbeat_timeout_ms: _HeartbeatMs = 120_000
    created_at: Ms | None = None

    @classmethod
    def of(cls, r: NewRun) -> NewRunModel:
        """The wire form of a new run."""
        return cls(
            flow_name=r.flow_name,
            run_id=r.run_id,
            status=r.status,
            user=r.user,
            parameters=dict(r.parameters),
            tags=sorted(r.tags),
            system_tags=sorted(r.system_tags),
            origin_run_id=r.origin_run_id,
            trigger=[TriggerEventModel.of(e) for e in r.trigger],
            code_package=CodePackageModel.of(r.code_package),
            flow_metadata=metadata_map(r.flow_metadata),
            heartbeat_timeout_ms=r.heartbeat_timeout // timedelta(milliseconds=1),
            created_at=ms_or_none(r.created_at),
        )

    def to_input(self, path: str = "body") -> NewRun:
        """The input back, checked (a field the run's own checks refuse is named)."""
        with at_field(f"{path}.flow_name"):
            validate_name("flow", self.flow_name)
        for name, value in (("run_id", self.run_id), ("origin_run_id", self.origin_run_id)):
            if value is not None:
                with at_field(f"{path}.{name}"):
                    validate_id(name.replace("_", " "), value)
        with at_field(f"{path}.tags"):
            validate_user_tags(self.tags)
        for i, tag in enumerate(self.system_tags):
            with at_field(f"{path}.system_tags.{i}"):
                validate_system_tag(tag)
        if self.user is not None:
            with at_field(f"{path}.user"):
                if not check_text("user", self.user, max_length=255):
                    raise InvalidArgument("user must be 1 to 255 characters, got ''")
        for key, value in self.parameters.items():
            with at_field(f"{path}.parameters.{key}"):
                check_json_depth(f"parameter {key!r:.40}", value)
        with at_field(f"{path}.flow_metadata"):
            flow_metadata = value_map(self.flow_metadata)
        try:
            return NewRun(
                flow_name=self.flow_name,
                run_id=self.run_id,
                status=self.status,
                user=self.user,
                parameters=self.parameters,
                tags=frozenset(self.tags),
                system_tags=frozenset(self.system_tags),
                origin_run_id=self.origin_run_id,
                trigger=tuple(e.to_record() for e in self.trigger),
                code_package=None if self.code_package is None else self.code_package.to_record(),
                flow_metadata=flow_metadata,
                heartbeat_timeout=timedelta(milliseconds=self.heartbeat_timeout_ms),
                created_at=time_or_none(self.created_at),
            )
        except InvalidArgument as exc:
            raise field_error(path, exc) from exc


class StatusChangeModel(WireModel):
    """A run's or a task's new status (``at`` ``None`` for now)."""

    pathspec: Str
    status: Status
    at: Ms | None = None

    @classmethod
    def of(cls, c: TaskStatusChange) -> StatusChangeModel:
        """The wire form of a task status change."""
        return cls(pathspec=str(c.pathspec), status=c.status, at=ms_or_none(c.at))

    def to_input(self, path: str = "body") -> TaskStatusChange:
        """A task status change, checked."""
        spec = _spec(self.pathspec, Level.TASK, f"{path}.pathspec")
        try:
            return TaskStatusChange(spec, self.status, time_or_none(self.at))
        except InvalidArgument as exc:
            raise field_error(path, exc) from exc


class HeartbeatModel(WireModel):
    """A run's heartbeat (``at`` ``None`` for now)."""

    pathspec: Str
    at: Ms | None = None


class TagsModel(WireModel):
    """Tags to add to a run or remove from it."""

    pathspec: Str
    tags: list[Str]


class ReplaceTagsModel(WireModel):
    """Tags to remove from a run and tags to add to it, in one transaction."""

    pathspec: Str
    remove: list[Str] = Field(default_factory=list)
    add: list[Str] = Field(default_factory=list)


class NewStepModel(WireModel):
    """A :class:`~flowtrail.model.NewStep`."""

    pathspec: Str
    kind: StepKind = StepKind.LINEAR
    next_steps: list[Str] = Field(default_factory=list)
    created_at: Ms | None = None

    @classmethod
    def of(cls, s: NewStep) -> NewStepModel:
        """The wire form of a new step."""
        return cls(
            pathspec=str(s.pathspec),
            kind=s.kind,
            next_steps=list(s.next_steps),
            created_at=ms_or_none(s.created_at),
        )

    def to_input(self, path: str = "body") -> NewStep:
        """The input back, checked."""
        spec = _spec(self.pathspec, Level.STEP, f"{path}.pathspec")
        try:
            return NewStep(spec, self.kind, tuple(self.next_steps), time_or_none(self.created_at))
        except InvalidArgument as exc:
            raise field_error(path, exc) from exc


class NewTaskModel(WireModel):
    """A :class:`~flowtrail.model.NewTask`."""

    pathspec: Str
    status: Status = Status.RUNNING
    foreach_stack: list[ForeachFrameModel] = Field(default_factory=list)
    parent_tasks: list[Str] = Field(default_factory=list)
    origin_pathspec: Str | None = None
    created_at: Ms | None = None

    @classmethod
    def of(cls, t: NewTask) -> NewTaskModel:
        """The wire form of a new task."""
        return cls(
            pathspec=str(t.pathspec),
            status=t.status,
            foreach_stack=[ForeachFrameModel.of(f) for f in t.foreach_stack],
            parent_tasks=[str(p) for p in t.parent_tasks],
            origin_pathspec=None if t.origin_pathspec is None else str(t.origin_pathspec),
            created_at=ms_or_none(t.created_at),
        )

    def to_input(self, path: str = "body") -> NewTask:
        """The input back, checked."""
        spec = _spec(self.pathspec, Level.TASK, f"{path}.pathspec")
        parents = tuple(
            _spec(p, Level.TASK, f"{path}.parent_tasks.{i}")
            for i, p in enumerate(self.parent_tasks)
        )
        origin = (
            None
            if self.origin_pathspec is None
            else _spec(self.origin_pathspec, Level.TASK, f"{path}.origin_pathspec")
        )
        try:
            return NewTask(
                spec,
                self.status,
                tuple(f.to_record() for f in self.foreach_stack),
                parents,
                origin,
                time_or_none(self.created_at),
            )
        except InvalidArgument as exc:
            raise field_error(path, exc) from exc


class NewAttemptModel(WireModel):
    """A :class:`~flowtrail.model.NewAttempt`."""

    pathspec: Str
    number: AttemptNumber
    host: Str | None = None
    pid: Count | None = None
    started_at: Ms | None = None

    @classmethod
    def of(cls, a: NewAttempt) -> NewAttemptModel:
        """The wire form of an attempt starting."""
        return cls(
            pathspec=str(a.pathspec),
            number=a.number,
            host=a.host,
            pid=a.pid,
            started_at=ms_or_none(a.started_at),
        )

    def to_input(self, path: str = "body") -> NewAttempt:
        """The input back, checked."""
        spec = _spec(self.pathspec, Level.TASK, f"{path}.pathspec")
        try:
            return NewAttempt(spec, self.number, self.host, self.pid, time_or_none(self.started_at))
        except InvalidArgument as exc:
            raise field_error(path, exc) from exc


class AttemptEndModel(WireModel):
    """An :class:`~flowtrail.model.AttemptEnd`."""

    pathspec: Str
    number: AttemptNumber
    status: Status
    exception: ExceptionModel | None = None
    finished_at: Ms | None = None

    @classmethod
    def of(cls, e: AttemptEnd) -> AttemptEndModel:
        """The wire form of an attempt ending."""
        return cls(
            pathspec=str(e.pathspec),
            number=e.number,
            status=e.status,
            exception=ExceptionModel.of(e.exception),
            finished_at=ms_or_none(e.finished_at),
        )

    def to_input(self, path: str = "body") -> AttemptEnd:
        """The input back, checked."""
        spec = _spec(self.pathspec, Level.TASK, f"{path}.pathspec")
        try:
            return AttemptEnd(
                spec,
                self.number,
                self.status,
                None if self.exception is None else self.exception.to_record(),
                time_or_none(self.finished_at),
            )
        except InvalidArgument as exc:
            raise field_error(path, exc) from exc


class NewMetadataModel(WireModel):
    """A :class:`~flowtrail.model.NewMetadata`."""

    pathspec: Str
    field_name: Str
    value: MetadataValueModel
    type: Str = "user"
    attempt: AttemptNumber | None = None
    created_at: Ms | None = None

    @classmethod
    def of(cls, m: NewMetadata) -> NewMetadataModel:
        """The wire form of a metadata entry to record."""
        return cls(
            pathspec=str(m.pathspec),
            field_name=m.field_name,
            value=MetadataValueModel.of(m.value),
            type=m.type,
            attempt=m.attempt,
            created_at=ms_or_none(m.created_at),
        )

    def to_input(self, path: str = "body") -> NewMetadata:
        """The input back, checked."""
        spec = _spec(self.pathspec, None, f"{path}.pathspec")
        try:
            return NewMetadata(
                spec,
                self.field_name,
                self.value.to_value(),
                self.type,
                self.attempt,
                time_or_none(self.created_at),
            )
        except InvalidArgument as exc:
            raise field_error(path, exc) from exc


class NewArtifactModel(WireModel):
    """A :class:`~flowtrail.model.NewArtifact`."""

    pathspec: Str
    attempt: AttemptNumber
    sha: Str
    size: Count
    python_type: Str
    encoding: Str
    value: ScalarModel | None = None
    created_at: Ms | None = None

    @classmethod
    def of(cls, a: NewArtifact) -> NewArtifactModel:
        """The wire form of an artifact row to record."""
        return cls(
            pathspec=str(a.pathspec),
            attempt=a.attempt,
            sha=a.sha,
            size=a.size,
            python_type=a.python_type,
            encoding=a.encoding,
            value=ScalarModel.of(a.value),
            created_at=ms_or_none(a.created_at),
        )

    def to_input(self, path: str = "body") -> NewArtifact:
        """The input back, checked."""
        spec = _spec(self.pathspec, Level.ARTIFACT, f"{path}.pathspec")
        try:
            return NewArtifact(
                spec,
                self.attempt,
                self.sha,
                self.size,
                self.python_type,
                self.encoding,
                None if self.value is None else self.value.to_scalar(),
                time_or_none(self.created_at),
            )
        except InvalidArgument as exc:
            raise field_error(path, exc) from exc


class NewLogLineModel(WireModel):
    """A :class:`~flowtrail.model.NewLogLine`."""

    pathspec: Str
    attempt: AttemptNumber
    stream: LogStream
    seq: Count
    text: Str
    created_at: Ms | None = None

    @classmethod
    def of(cls, line: NewLogLine) -> NewLogLineModel:
        """The wire form of a log line to append."""
        return cls(
            pathspec=str(line.pathspec),
            attempt=line.attempt,
            stream=line.stream,
            seq=line.seq,
            text=line.text,
            created_at=ms_or_none(line.created_at),
        )

    def to_input(self, path: str = "body") -> NewLogLine:
        """The input back, checked."""
        spec = _spec(self.pathspec, Level.TASK, f"{path}.pathspec")
        try:
            return NewLogLine(
                spec, self.attempt, self.stream, self.seq, self.text, time_or_none(self.created_at)
            )
        except InvalidArgument as exc:
            raise field_error(path, exc) from exc


class NewMetadataListModel(WireModel):
    """Metadata entries to record in one transaction (``POST /api/v1/metadata``)."""

    entries: list[NewMetadataModel]

    def to_inputs(self) -> list[NewMetadata]:
        """The inputs back, checked."""
        return [e.to_input(f"body.entries.{i}") for i, e in enumerate(self.entries)]


class NewArtifactsModel(WireModel):
    """Artifact rows to record in one transaction (``POST /api/v1/artifacts``)."""

    artifacts: list[NewArtifactModel]

    def to_inputs(self) -> list[NewArtifact]:
        """The inputs back, checked."""
        return [a.to_input(f"body.artifacts.{i}") for i, a in enumerate(self.artifacts)]


class NewLogLinesModel(WireModel):
    """Log lines to append in one transaction (``POST /api/v1/logs``)."""

    lines: list[NewLogLineModel]

    def to_inputs(self) -> list[NewLogLine]:
        """The inputs back, checked."""
        return [line.to_input(f"body.lines.{i}") for i, line in enumerate(self.lines)]


def _each(items: Sequence[Any], name: str) -> tuple[Any, ...]:
    return tuple(item.to_input(f"body.{name}.{i}") for i, item in enumerate(items))


class BatchModel(WireModel):
    """A :class:`~flowtrail.model.Batch` (``POST /api/v1/batches``)."""

    batch_id: Str
    run: Str
    steps: list[NewStepModel] = Field(default_factory=list)
    tasks: list[NewTaskModel] = Field(default_factory=list)
    attempts: list[NewAttemptModel] = Field(default_factory=list)
    metadata: list[NewMetadataModel] = Field(default_factory=list)
    artifacts: list[NewArtifactModel] = Field(default_factory=list)
    log_lines: list[NewLogLineModel] = Field(default_factory=list)
    attempt_ends: list[AttemptEndModel] = Field(default_factory=list)
    task_statuses: list[StatusChangeModel] = Field(default_factory=list)
    heartbeat: Bool = False
    run_status: Status | None = None

    @classmethod
    def of(cls, b: Batch) -> BatchModel:
        """The wire form of a batch."""
        return cls(
            batch_id=b.batch_id,
            run=str(b.run),
            steps=[NewStepModel.of(s) for s in b.steps],
            tasks=[NewTaskModel.of(t) for t in b.tasks],
            attempts=[NewAttemptModel.of(a) for a in b.attempts],
            metadata=[NewMetadataModel.of(m) for m in b.metadata],
            artifacts=[NewArtifactModel.of(a) for a in b.artifacts],
            log_lines=[NewLogLineModel.of(line) for line in b.log_lines],
            attempt_ends=[AttemptEndModel.of(e) for e in b.attempt_ends],
            task_statuses=[StatusChangeModel.of(c) for c in b.task_statuses],
            heartbeat=b.heartbeat,
            run_status=b.run_status,
        )

    def to_input(self) -> Batch:
        """The batch back, checked."""
        run = _spec(self.run, Level.RUN, "body.run")
        parts = {
            name: _each(getattr(self, name), name)
            for name in (
                "steps",
                "tasks",
                "attempts",
                "metadata",
                "artifacts",
                "log_lines",
                "attempt_ends",
                "task_statuses",
            )
        }
        with at_field("body"):
            return Batch(
                batch_id=self.batch_id,
                run=run,
                heartbeat=self.heartbeat,
                run_status=self.run_status,
                **parts,
            )


class BatchResultModel(WireModel):
    """A :class:`~flowtrail.model.BatchResult`."""

    batch_id: Str
    applied: Bool
    records: Int

    @classmethod
    def of(cls, r: BatchResult) -> BatchResultModel:
        """The wire form of a batch result."""
        return cls(batch_id=r.batch_id, applied=r.applied, records=r.records)

    def to_record(self) -> BatchResult:
        """The result back."""
        return BatchResult(self.batch_id, self.applied, self.records)
