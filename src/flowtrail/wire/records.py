"""Response models: one per record of :mod:`flowtrail.model`, each converting both ways.

``Model.of(record)`` builds the body the service sends; ``model.to_record()`` gives the
client the very record the store returned. Pathspecs travel as their text
(``"F/12/start/3"``), times as epoch milliseconds, durations as milliseconds. Typed values
travel as ``{"type": ..., "text": ...}``: their text form, which holds NaN and infinity
losslessly where JSON numbers cannot.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from flowtrail.model import (
    ArtifactRecord,
    AttemptRecord,
    CodePackage,
    ExceptionInfo,
    FlowRecord,
    ForeachFrame,
    Level,
    LogLine,
    LogStream,
    MetadataEntry,
    MetadataType,
    MetadataValue,
    Pathspec,
    RunRecord,
    Scalar,
    Status,
    StepKind,
    StepRecord,
    TagCount,
    TaskRecord,
    TriggerEvent,
    from_epoch_ms,
    to_epoch_ms,
)
from flowtrail.wire.base import Int, Ms, Str, WireModel

__all__ = [
    "ArtifactModel",
    "AttemptModel",
    "CodePackageModel",
    "ExceptionModel",
    "FlowModel",
    "ForeachFrameModel",
    "LogLineModel",
    "MetadataEntryModel",
    "MetadataValueModel",
    "RunModel",
    "ScalarModel",
    "StepModel",
    "TagCountModel",
    "TaskModel",
    "TriggerEventModel",
    "ms",
    "ms_or_none",
    "time_or_none",
]


def ms_or_none(value: Any) -> int | None:
    """An aware datetime (or ``None``) as epoch milliseconds (or ``None``)."""
    return None if value is None else to_epoch_ms(value)


def ms(value: Any) -> int:
    """An aware datetime as epoch milliseconds."""
    return to_epoch_ms(value)


def time_or_none(value: int | None) -> Any:
    """Epoch milliseconds (or ``None``) as an aware UTC datetime (or ``None``)."""
    return None if value is None else from_epoch_ms(value)


class MetadataValueModel(WireModel):
    """A typed metadata value in its text form (``{"type": "float", "text": "0.5"}``)."""

    type: MetadataType
    text: Str

    @classmethod
    def of(cls, value: MetadataValue) -> MetadataValueModel:
        """The wire form of a value."""
        return cls(type=value.type, text=value.to_text())

    def to_value(self) -> MetadataValue:
        """The value back."""
        return MetadataValue.from_text(self.type, self.text)


def metadata_map(values: Mapping[str, MetadataValue]) -> dict[str, MetadataValueModel]:
    """A map of typed values in wire form."""
    return {name: MetadataValueModel.of(v) for name, v in values.items()}


def value_map(models: Mapping[str, MetadataValueModel]) -> dict[str, MetadataValue]:
    """The inverse of :func:`metadata_map`."""
    return {name: m.to_value() for name, m in models.items()}


ScalarType = Literal["int", "float", "bool", "str"]


def scalar_parts(value: Scalar | None) -> tuple[ScalarType, str] | None:
    """The ``type`` and ``text`` of :class:`ScalarModel` for a scalar (``None`` stays
    ``None``): bool is checked before int, since a bool is an int."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool", "true" if value else "false"
    if isinstance(value, int):
        return "int", str(value)
    if isinstance(value, float):
        return "float", repr(value)
    return "str", value


class ScalarModel(WireModel):
    """An artifact's scalar value in its text form (``{"type": "float", "text": "nan"}``)."""

    type: ScalarType
    text: Str

    @classmethod
    def of(cls, value: Scalar | None) -> ScalarModel | None:
        """The wire form of a scalar (``None`` stays ``None``)."""
        parts = scalar_parts(value)
        return None if parts is None else cls(type=parts[0], text=parts[1])

    def to_scalar(self) -> Scalar:
        """The scalar back."""
        if self.type == "bool":
            return self.text == "true"
        if self.type == "int":
            return int(self.text)
        if self.type == "float":
            return float(self.text)
        return self.text


class FlowModel(WireModel):
    """A :class:`~flowtrail.model.FlowRecord`."""

    pathspec: Str
    created_at: Ms
    last_run_at: Ms | None = None
    metadata: dict[str, MetadataValueModel] = Field(default_factory=dict)

    @classmethod
    def of(cls, r: FlowRecord) -> FlowModel:
        """The wire form of a flow."""
        return cls(
            pathspec=str(r.pathspec),
            created_at=ms(r.created_at),
            last_run_at=ms_or_none(r.last_run_at),
            metadata=metadata_map(r.metadata),
        )

    def to_record(self) -> FlowRecord:
        """The record back."""
        return FlowRecord(
            pathspec=Pathspec.parse(self.pathspec, Level.FLOW),
            created_at=from_epoch_ms(self.created_at),
            last_run_at=time_or_none(self.last_run_at),
            metadata=value_map(self.metadata),
        )


class TagCountModel(WireModel):
    """A :class:`~flowtrail.model.TagCount`."""

    tag: Str
    runs: Int

    @classmethod
    def of(cls, r: TagCount) -> TagCountModel:
        """The wire form of a tag count."""
        return cls(tag=r.tag, runs=r.runs)

    def to_record(self) -> TagCount:
        """The record back."""
        return TagCount(self.tag, self.runs)


class TriggerEventModel(WireModel):
    """A :class:`~flowtrail.model.TriggerEvent`."""

    name: Str
    timestamp: Ms
    id: Str | None = None
    type: Str = "event"

    @classmethod
    def of(cls, e: TriggerEvent) -> TriggerEventModel:
        """The wire form of a trigger event."""
        return cls(name=e.name, timestamp=ms(e.timestamp), id=e.id, type=e.type)

    def to_record(self) -> TriggerEvent:
        """The event back."""
        return TriggerEvent(
            name=self.name, timestamp=from_epoch_ms(self.timestamp), id=self.id, type=self.type
        )


class CodePackageModel(WireModel):
    """A :class:`~flowtrail.model.CodePackage`."""

    sha: Str
    script_name: Str
    info: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, p: CodePackage | None) -> CodePackageModel | None:
        """The wire form of a code package (``None`` stays ``None``)."""
        if p is None:
            return None
        return cls(sha=p.sha, script_name=p.script_name, info=dict(p.info))

    def to_record(self) -> CodePackage:
        """The package back."""
        return CodePackage(sha=self.sha, script_name=self.script_name, info=self.info)


class RunModel(WireModel):
    """A :class:`~flowtrail.model.RunRecord`; tags are sorted lists."""

    pathspec: Str
    status: Status
    created_at: Ms
    finished_at: Ms | None = None
    heartbeat_at: Ms | None = None
    heartbeat_timeout_ms: Int = 120_000
    run_number: Int | None = None
    user: Str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    origin_run_id: Str | None = None
    trigger: list[TriggerEventModel] = Field(default_factory=list)
    code_package: CodePackageModel | None = None
    user_tags: list[Str] = Field(default_factory=list)
    system_tags: list[Str] = Field(default_factory=list)
    flow_metadata: dict[str, MetadataValueModel] = Field(default_factory=dict)

    @classmethod
    def of(cls, r: RunRecord) -> RunModel:
        """The wire form of a run."""
        return cls(
            pathspec=str(r.pathspec),
            status=r.status,
            created_at=ms(r.created_at),
            finished_at=ms_or_none(r.finished_at),
            heartbeat_at=ms_or_none(r.heartbeat_at),
            heartbeat_timeout_ms=r.heartbeat_timeout // timedelta(milliseconds=1),
            run_number=r.run_number,
            user=r.user,
            parameters=dict(r.parameters),
            origin_run_id=r.origin_run_id,
            trigger=[TriggerEventModel.of(e) for e in r.trigger],
            code_package=CodePackageModel.of(r.code_package),
            user_tags=sorted(r.user_tags),
            system_tags=sorted(r.system_tags),
            flow_metadata=metadata_map(r.flow_metadata),
        )

    def to_record(self) -> RunRecord:
        """The record back."""
        return RunRecord(
            pathspec=Pathspec.parse(self.pathspec, Level.RUN),
            status=self.status,
            created_at=from_epoch_ms(self.created_at),
            finished_at=time_or_none(self.finished_at),
            heartbeat_at=time_or_none(self.heartbeat_at),
            heartbeat_timeout=timedelta(milliseconds=self.heartbeat_timeout_ms),
            run_number=self.run_number,
            user=self.user,
            parameters=self.parameters,
            origin_run_id=self.origin_run_id,
            trigger=tuple(e.to_record() for e in self.trigger),
            code_package=None if self.code_package is None else self.code_package.to_record(),
            user_tags=frozenset(self.user_tags),
            system_tags=frozenset(self.system_tags),
            flow_metadata=value_map(self.flow_metadata),
        )


class StepModel(WireModel):
    """A :class:`~flowtrail.model.StepRecord`."""

    pathspec: Str
    kind: StepKind
    created_at: Ms
    next_steps: list[Str] = Field(default_factory=list)
    finished_at: Ms | None = None

    @classmethod
    def of(cls, r: StepRecord) -> StepModel:
        """The wire form of a step."""
        return cls(
            pathspec=str(r.pathspec),
            kind=r.kind,
            created_at=ms(r.created_at),
            next_steps=list(r.next_steps),
            finished_at=ms_or_none(r.finished_at),
        )

    def to_record(self) -> StepRecord:
        """The record back."""
        return StepRecord(
            pathspec=Pathspec.parse(self.pathspec, Level.STEP),
            kind=self.kind,
            created_at=from_epoch_ms(self.created_at),
            next_steps=tuple(self.next_steps),
            finished_at=time_or_none(self.finished_at),
        )


class ForeachFrameModel(WireModel):
    """A :class:`~flowtrail.model.ForeachFrame`."""

    step: Str
    index: Int
    num_splits: Int | None = None

    @classmethod
    def of(cls, f: ForeachFrame) -> ForeachFrameModel:
        """The wire form of a foreach frame."""
        return cls(step=f.step, index=f.index, num_splits=f.num_splits)

    def to_record(self) -> ForeachFrame:
        """The frame back."""
        return ForeachFrame(self.step, self.index, self.num_splits)


class TaskModel(WireModel):
    """A :class:`~flowtrail.model.TaskRecord`."""

    pathspec: Str
    status: Status
    created_at: Ms
    finished_at: Ms | None = None
    foreach_stack: list[ForeachFrameModel] = Field(default_factory=list)
    parent_tasks: list[Str] = Field(default_factory=list)
    origin_pathspec: Str | None = None
    latest_attempt: Int | None = None

    @classmethod
    def of(cls, r: TaskRecord) -> TaskModel:
        """The wire form of a task."""
        return cls(
            pathspec=str(r.pathspec),
            status=r.status,
            created_at=ms(r.created_at),
            finished_at=ms_or_none(r.finished_at),
            foreach_stack=[ForeachFrameModel.of(f) for f in r.foreach_stack],
            parent_tasks=[str(p) for p in r.parent_tasks],
            origin_pathspec=None if r.origin_pathspec is None else str(r.origin_pathspec),
            latest_attempt=r.latest_attempt,
        )

    def to_record(self) -> TaskRecord:
        """The record back."""
        return TaskRecord(
            pathspec=Pathspec.parse(self.pathspec, Level.TASK),
            status=self.status,
            created_at=from_epoch_ms(self.created_at),
            finished_at=time_or_none(self.finished_at),
            foreach_stack=tuple(f.to_record() for f in self.foreach_stack),
            parent_tasks=tuple(Pathspec.parse(p, Level.TASK) for p in self.parent_tasks),
            origin_pathspec=(
                None
                if self.origin_pathspec is None
                else Pathspec.parse(self.origin_pathspec, Level.TASK)
            ),
            latest_attempt=self.latest_attempt,
        )


class ExceptionModel(WireModel):
    """An :class:`~flowtrail.model.ExceptionInfo`."""

    type: Str
    message: Str
    traceback: Str = ""

    @classmethod
    def of(cls, e: ExceptionInfo | None) -> ExceptionModel | None:
        """The wire form of an exception (``None`` stays ``None``)."""
        if e is None:
            return None
        return cls(type=e.type, message=e.message, traceback=e.traceback)

    def to_record(self) -> ExceptionInfo:
        """The exception info back."""
        return ExceptionInfo(self.type, self.message, self.traceback)


class AttemptModel(WireModel):
    """An :class:`~flowtrail.model.AttemptRecord`."""

    pathspec: Str
    number: Int
    status: Status
    started_at: Ms
    finished_at: Ms | None = None
    host: Str | None = None
    pid: Int | None = None
    exception: ExceptionModel | None = None

    @classmethod
    def of(cls, r: AttemptRecord) -> AttemptModel:
        """The wire form of an attempt."""
        return cls(
            pathspec=str(r.pathspec),
            number=r.number,
            status=r.status,
            started_at=ms(r.started_at),
            finished_at=ms_or_none(r.finished_at),
            host=r.host,
            pid=r.pid,
            exception=ExceptionModel.of(r.exception),
        )

    def to_record(self) -> AttemptRecord:
        """The record back."""
        return AttemptRecord(
            pathspec=Pathspec.parse(self.pathspec, Level.TASK),
            number=self.number,
            status=self.status,
            started_at=from_epoch_ms(self.started_at),
            finished_at=time_or_none(self.finished_at),
            host=self.host,
            pid=self.pid,
            exception=None if self.exception is None else self.exception.to_record(),
        )


class MetadataEntryModel(WireModel):
    """A :class:`~flowtrail.model.MetadataEntry`."""

    pathspec: Str
    field_name: Str
    value: MetadataValueModel
    type: Str
    created_at: Ms
    attempt: Int | None = None

    @classmethod
    def of(cls, r: MetadataEntry) -> MetadataEntryModel:
        """The wire form of a metadata entry."""
        return cls(
            pathspec=str(r.pathspec),
            field_name=r.field_name,
            value=MetadataValueModel.of(r.value),
            type=r.type,
            created_at=ms(r.created_at),
            attempt=r.attempt,
        )

    def to_record(self) -> MetadataEntry:
        """The record back."""
        return MetadataEntry(
            pathspec=Pathspec.parse(self.pathspec),
            field_name=self.field_name,
            value=self.value.to_value(),
            type=self.type,
            created_at=from_epoch_ms(self.created_at),
            attempt=self.attempt,
        )


class ArtifactModel(WireModel):
    """An :class:`~flowtrail.model.ArtifactRecord`."""

    pathspec: Str
    attempt: Int
    sha: Str
    size: Int
    python_type: Str
    encoding: Str
    created_at: Ms
    value: ScalarModel | None = None

    @classmethod
    def of(cls, r: ArtifactRecord) -> ArtifactModel:
        """The wire form of an artifact row."""
        return cls(
            pathspec=str(r.pathspec),
            attempt=r.attempt,
            sha=r.sha,
            size=r.size,
            python_type=r.python_type,
            encoding=r.encoding,
            created_at=ms(r.created_at),
            value=ScalarModel.of(r.value),
        )

    def to_record(self) -> ArtifactRecord:
        """The record back."""
        return ArtifactRecord(
            pathspec=Pathspec.parse(self.pathspec, Level.ARTIFACT),
            attempt=self.attempt,
            sha=self.sha,
            size=self.size,
            python_type=self.python_type,
            encoding=self.encoding,
            created_at=from_epoch_ms(self.created_at),
            value=None if self.value is None else self.value.to_scalar(),
        )


class LogLineModel(WireModel):
    """A :class:`~flowtrail.model.LogLine`."""

    pathspec: Str
    attempt: Int
    stream: LogStream
    seq: Int
    created_at: Ms
    text: Str

    @classmethod
    def of(cls, r: LogLine) -> LogLineModel:
        """The wire form of a log line."""
        return cls(
            pathspec=str(r.pathspec),
            attempt=r.attempt,
            stream=r.stream,
            seq=r.seq,
            created_at=ms(r.created_at),
            text=r.text,
        )

    def to_record(self) -> LogLine:
        """The record back."""
        return LogLine(
            pathspec=Pathspec.parse(self.pathspec, Level.TASK),
            attempt=self.attempt,
            stream=self.stream,
            seq=self.seq,
            created_at=from_epoch_ms(self.created_at),
            text=self.text,
        )
