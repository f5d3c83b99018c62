"""Request bodies built straight from records, for the client's hot write path.

A batch holds hundreds of records that the model layer has already checked; building a
pydantic model of each only to dump it again costs the runtime several milliseconds per
batch. :func:`batch_payload` gives exactly what ``BatchModel.of(batch).model_dump(mode=
"json")`` gives (a test holds the two equal), as plain dicts and lists. The service still
validates every body it receives against :class:`~flowtrail.wire.BatchModel`.
"""

from __future__ import annotations

from typing import Any

from flowtrail.model import (
    AttemptEnd,
    Batch,
    ExceptionInfo,
    ForeachFrame,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewStep,
    NewTask,
    TaskStatusChange,
)
from flowtrail.wire.records import ms_or_none, scalar_parts

__all__ = ["batch_payload"]


def batch_payload(b: Batch) -> dict[str, Any]:
    """The JSON body of ``POST /api/v1/batches`` for ``b``."""
    return {
        "batch_id": b.batch_id,
        "run": str(b.run),
        "steps": [_step(s) for s in b.steps],
        "tasks": [_task(t) for t in b.tasks],
        "attempts": [_attempt(a) for a in b.attempts],
        "metadata": [_metadata(m) for m in b.metadata],
        "artifacts": [_artifact(a) for a in b.artifacts],
        "log_lines": [_log_line(line) for line in b.log_lines],
        "attempt_ends": [_attempt_end(e) for e in b.attempt_ends],
        "task_statuses": [_status(c) for c in b.task_statuses],
        "heartbeat": b.heartbeat,
        "run_status": None if b.run_status is None else b.run_status.value,
    }


def _step(s: NewStep) -> dict[str, Any]:
    return {
        "pathspec": str(s.pathspec),
        "kind": s.kind.value,
        "next_steps": list(s.next_steps),
        "created_at": ms_or_none(s.created_at),
    }


def _frame(f: ForeachFrame) -> dict[str, Any]:
    return {"step": f.step, "index": f.index, "num_splits": f.num_splits}


def _task(t: NewTask) -> dict[str, Any]:
    return {
        "pathspec": str(t.pathspec),
        "status": t.status.value,
        "foreach_stack": [_frame(f) for f in t.foreach_stack],
        "parent_tasks": [str(p) for p in t.parent_tasks],
        "origin_pathspec": None if t.origin_pathspec is None else str(t.origin_pathspec),
        "created_at": ms_or_none(t.created_at),
    }


def _attempt(a: NewAttempt) -> dict[str, Any]:
    return {
        "pathspec": str(a.pathspec),
        "number": a.number,
        "host": a.host,
        "pid": a.pid,
        "started_at": ms_or_none(a.started_at),
    }


def _exception(e: ExceptionInfo | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"type": e.type, "message": e.message, "traceback": e.traceback}


def _attempt_end(e: AttemptEnd) -> dict[str, Any]:
    return {
        "pathspec": str(e.pathspec),
        "number": e.number,
        "status": e.status.value,
        "exception": _exception(e.exception),
        "finished_at": ms_or_none(e.finished_at),
    }


def _metadata(m: NewMetadata) -> dict[str, Any]:
    return {
        "pathspec": str(m.pathspec),
        "field_name": m.field_name,
        "value": {"type": m.value.type.value, "text": m.value.to_text()},
        "type": m.type,
        "attempt": m.attempt,
        "created_at": ms_or_none(m.created_at),
    }


def _scalar(value: Any) -> dict[str, str] | None:
    parts = scalar_parts(value)
    return None if parts is None else {"type": parts[0], "text": parts[1]}


def _artifact(a: NewArtifact) -> dict[str, Any]:
    return {
        "pathspec": str(a.pathspec),
        "attempt": a.attempt,
        "sha": a.sha,
        "size": a.size,
        "python_type": a.python_type,
        "encoding": a.encoding,
        "value": _scalar(a.value),
        "created_at": ms_or_none(a.created_at),
    }


def _log_line(line: NewLogLine) -> dict[str, Any]:
    return {
        "pathspec": str(line.pathspec),
        "attempt": line.attempt,
        "stream": line.stream.value,
        "seq": line.seq,
        "text": line.text,
        "created_at": ms_or_none(line.created_at),
    }


def _status(c: TaskStatusChange) -> dict[str, Any]:
    return {"pathspec": str(c.pathspec), "status": c.status.value, "at": ms_or_none(c.at)}
