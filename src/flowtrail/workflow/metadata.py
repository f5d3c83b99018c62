"""``get_metadata``: Ray's dict shapes, for a workflow and for one of its tasks, read from the
history. Its ``status`` is the one ``get_status`` gives (a dead workflow is ``RESUMABLE``
in both)."""

from __future__ import annotations

from typing import Any

from flowtrail.config import Settings
from flowtrail.model import PageRequest, RunRecord, Status
from flowtrail.workflow.history import (
    TaskState,
    find_workflow,
    open_session,
    run_entries,
    task_states,
    user_metadata,
)
from flowtrail.workflow.status import from_run_status

__all__ = ["get_metadata"]


def get_metadata(
    workflow_id: str, task_id: str | None = None, *, settings: Settings | None = None
) -> dict[str, Any]:
    """The metadata of a workflow, or of one of its tasks, in Ray's shapes.

    Workflow level: ``{'status': 'SUCCESSFUL', 'user_metadata': {...}, 'stats':
    {'start_time': <epoch s>, 'end_time': <epoch s>}}`` (``stats`` is ``{}`` while pending
    and has no ``end_time`` while running, once resumable or after a cancel).

    Task level: ``{'task_id', 'task_options', 'user_metadata', 'workflow_refs', 'stats'}``
    (``stats`` has no ``end_time`` for a task that raised or has not finished, and is
    ``{}`` before it starts).

    Raises:
        ValueError: ``No such workflow_id 'x'`` or ``No such task_id 't' in workflow 'w'``.
    """
    with open_session(settings) as session:
        run = find_workflow(session.store, workflow_id)
        if run is None:
            raise ValueError(f"No such workflow_id {workflow_id!r}")
        if task_id is None:
            return {
                "status": from_run_status(run.status).value,
                "user_metadata": user_metadata(run_entries(session.store, run.pathspec)),
                "stats": _workflow_stats(run),
            }
        states = task_states(session.store, run.pathspec)
        state = states.get(task_id)
        if state is None:
            raise ValueError(f"No such task_id {task_id!r} in workflow {workflow_id!r}")
        return {
            "task_id": task_id,
            "task_options": state.options.as_ray(),
            "user_metadata": user_metadata(state.entries),
            "workflow_refs": list(state.upstream),
            "stats": _task_stats(session.store, state),
        }


def _workflow_stats(run: RunRecord) -> dict[str, float]:
    if run.status is Status.PENDING:
        return {}
    stats = {"start_time": run.created_at.timestamp()}
    if run.status in (Status.SUCCEEDED, Status.FAILED) and run.finished_at is not None:
        stats["end_time"] = run.finished_at.timestamp()
    return stats


def _task_stats(store: Any, state: TaskState) -> dict[str, float]:
    attempts = store.find_attempts(state.record.pathspec, PageRequest(1000)).items
    if not attempts:
        return {}
    last = attempts[-1]
    stats = {"start_time": last.started_at.timestamp()}
    if last.status is Status.SUCCEEDED and last.finished_at is not None:
        stats["end_time"] = last.finished_at.timestamp()
    return stats
