"""What the scheduler and its workers tell each other (pickled over a pipe)."""

from __future__ import annotations

import pickle
import traceback
from dataclasses import dataclass, field
from typing import Any

from flowtrail.model import ExceptionInfo, NewMetadata

__all__ = [
    "ArtifactRef",
    "CallOrder",
    "LogChunk",
    "RunContext",
    "TaskOrder",
    "TaskResult",
    "exception_info",
    "pickled_exception",
]


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """An artifact already in the blob store: where it is and how to read it."""

    sha: str
    size: int
    python_type: str
    encoding: str
    value: int | float | bool | str | None = None


View = dict[str, ArtifactRef]


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every task of a run knows about the run."""

    flow_name: str
    run_id: str
    username: str
    tags: tuple[str, ...]
    parameters: dict[str, Any]
    origin_run_id: str | None
    blob_url: str
    #: Options of the blob store besides its URL (the service token): never shown.
    blob_options: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class TaskOrder:
    """One attempt for a worker to run.

    Attributes:
        key: The scheduler's handle of the attempt (task pathspec and attempt number).
        step: The step to run.
        task_id: The task's id.
        attempt: The attempt number (from 0).
        view: The artifacts the task starts with.
        inputs: For a join: per input, its step and its artifacts.
        foreach: For a foreach task: the artifact iterated over and the task's index.
        index: The foreach index (``self.index``), if any.
    """

    key: tuple[str, int]
    step: str
    task_id: str
    attempt: int
    view: View
    inputs: tuple[tuple[str, View], ...] | None = None
    foreach: tuple[ArtifactRef, int] | None = None
    index: int | None = None


@dataclass(frozen=True, slots=True)
class CallOrder:
    """One attempt at a function task (``flowtrail.workflow``) for a worker to run.

    Attributes:
        key: The scheduler's handle of the attempt (task pathspec and attempt number).
        task_id: The task's id.
        attempt: The attempt number (from 0).
        payload: ``(function, args, kwargs)`` pickled by cloudpickle; each upstream output
            in the arguments is a persistent id: the upstream task's id.
        inputs: Per upstream task id, its output artifact in the blob store.
        wrap: Return ``(result, None)`` instead of the result (``catch_exceptions``).
    """

    key: tuple[str, int]
    task_id: str
    attempt: int
    payload: bytes
    inputs: tuple[tuple[str, ArtifactRef], ...] = ()
    wrap: bool = False


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Log lines of a running attempt: ``(stream, text, epoch_ms)`` each."""

    key: tuple[str, int]
    lines: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True, slots=True)
class MetadataNote:
    """User metadata an attempt set, sent the moment it was set."""

    key: tuple[str, int]
    entries: tuple[NewMetadata, ...]


@dataclass(frozen=True, slots=True)
class TaskResult:
    """How an attempt ended.

    Attributes:
        key: The attempt's handle.
        ok: Whether the step returned and its artifacts were stored.
        view: Every artifact the task ends with (inherited ones by reference); for an
            attempt that failed, those it had when it failed that could be stored.
        splits: For a foreach, how many items it fans out to.
        exception: What went wrong, when not ``ok``.
        exception_blob: The exception pickled (for ``@catch``), when it could be.
        started_ms: When the step began to run in the worker.
        finished_ms: When the attempt ended.
    """

    key: tuple[str, int]
    ok: bool
    view: View = field(default_factory=dict)
    splits: int | None = None
    exception: ExceptionInfo | None = None
    exception_blob: bytes | None = None
    started_ms: int = 0
    finished_ms: int = 0


def exception_info(exc: BaseException) -> ExceptionInfo:
    """How an attempt's exception is recorded: its type (builtins by their bare name), its
    message, and its traceback when it was raised."""
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else (f"{kind.__module__}.{kind.__qualname__}")
    )
    trace = "".join(traceback.format_exception(exc)) if exc.__traceback__ is not None else ""
    return ExceptionInfo(name, str(exc), trace)


def pickled_exception(exc: BaseException) -> bytes | None:
    """The exception pickled for ``@catch``, or ``None`` when it cannot travel (it is then
    known by its recorded text)."""
    try:
        data = pickle.dumps(exc, protocol=5)
        pickle.loads(data)
    except Exception:
        return None
    return data
