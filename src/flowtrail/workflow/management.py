"""Managing workflows by id: status, output, listing, resuming many, cancelling, deleting."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from flowtrail.config import Settings
from flowtrail.errors import InvalidTransition, WorkflowCancellationError, WorkflowExecutionError
from flowtrail.model import (
    MetadataValue,
    NewMetadata,
    RunFilter,
    RunRecord,
    Status,
    iter_pages,
)
from flowtrail.workflow.api import WorkflowFuture, resume_async
from flowtrail.workflow.history import (
    CANCEL,
    EXECUTION,
    OUTPUT_TASK,
    Session,
    find_workflow,
    latest,
    open_session,
    run_entries,
    task_states,
)
from flowtrail.workflow.status import WorkflowStatus, from_run_status, run_statuses

__all__ = ["cancel", "delete", "get_output", "get_status", "list_all", "resume_all"]

_POLL = 0.1


def _workflow(session: Session, workflow_id: str) -> RunRecord:
    run = find_workflow(session.store, workflow_id)
    if run is None:
        raise ValueError(f"No such workflow_id {workflow_id!r}")
    return run


def get_status(workflow_id: str, *, settings: Settings | None = None) -> WorkflowStatus:
    """The workflow's status (``RESUMABLE`` when its process died).

    Raises:
        ValueError: no such workflow.
    """
    with open_session(settings) as session:
        return from_run_status(_workflow(session, workflow_id).status)


def get_output(
    workflow_id: str, *, task_id: str | None = None, settings: Settings | None = None
) -> Any:
    """The output of a workflow, or of one of its tasks; waits while the workflow runs.

    Raises:
        ValueError: no such workflow, or no such task in it, or the task has no output
            (it did not run, or it ran with ``checkpoint=False`` and failed since).
        WorkflowExecutionError: the workflow failed before producing the output.
        WorkflowCancellationError: it was cancelled before producing the output.
    """
    with open_session(settings) as session:
        run = _workflow(session, workflow_id)
        while run.status in (Status.RUNNING, Status.PENDING):
            time.sleep(_POLL)
            run = session.store.get_run(run.pathspec)
        wanted = task_id or str(latest(run_entries(session.store, run.pathspec), OUTPUT_TASK))
        states = task_states(session.store, run.pathspec)
        state = states.get(wanted)
        if state is None:
            raise ValueError(f"No such task_id {wanted!r} in workflow {workflow_id!r}")
        if state.output is not None:
            return session.load(state.output.sha, state.output.encoding)
        if run.status is Status.FAILED:
            raise WorkflowExecutionError(
                f"workflow {workflow_id!r} failed before task {wanted!r} gave an output"
            )
        if run.status is Status.CANCELLED:
            raise WorkflowCancellationError(
                f"workflow {workflow_id!r} was cancelled before task {wanted!r} gave an output"
            )
        raise ValueError(
            f"task {wanted!r} of workflow {workflow_id!r} has no output "
            f"(the workflow is {from_run_status(run.status)})"
        )


def _status_set(status_filter: Any) -> set[WorkflowStatus]:
    if status_filter is None:
        return set(WorkflowStatus) - {WorkflowStatus.NONE}
    if isinstance(status_filter, WorkflowStatus | str):
        return {WorkflowStatus(status_filter)}
    if isinstance(status_filter, set | frozenset) and all(
        isinstance(s, WorkflowStatus | str) for s in status_filter
    ):
        return {WorkflowStatus(s) for s in status_filter}
    raise TypeError(
        f"status_filter must be a WorkflowStatus, its name, or a set of either, got "
        f"{status_filter!r}"
    )


def list_all(
    status_filter: WorkflowStatus | str | Iterable[WorkflowStatus | str] | None = None,
    *,
    settings: Settings | None = None,
) -> list[tuple[str, WorkflowStatus]]:
    """Every workflow with its status, newest first; optionally only those in a status (a
    :class:`WorkflowStatus`, its name, or a set of either).

    Raises:
        ValueError: an unknown status name.
        TypeError: a filter of another type.
    """
    wanted = _status_set(status_filter)
    with open_session(settings) as session:
        found = iter_pages(
            lambda page: session.store.find_runs(
                RunFilter(where="tag ~ 'workflow:*'", statuses=run_statuses(wanted)), page
            ),
            1000,
            1000,
        )
        return [
            (run.run_id, from_run_status(run.status))
            for run in found
            if from_run_status(run.status) in wanted
        ]


def resume_all(
    include_failed: bool = False, *, settings: Settings | None = None
) -> list[tuple[str, WorkflowFuture]]:
    """Resume every ``RESUMABLE`` workflow (and every ``FAILED`` one with
    ``include_failed``), each in a thread; returns ``(workflow_id, future)`` pairs."""
    wanted: set[WorkflowStatus] = {WorkflowStatus.RESUMABLE}
    if include_failed:
        wanted.add(WorkflowStatus.FAILED)
    return [
        (workflow_id, resume_async(workflow_id, settings=settings))
        for workflow_id, _ in list_all(wanted, settings=settings)
    ]


def cancel(workflow_id: str, *, settings: Settings | None = None) -> None:
    """Cancel a workflow. A running one is asked to stop, and this waits until its process
    has recorded it ``CANCELED`` (or has died: it is then recorded cancelled here). A
    resumable or pending one is recorded cancelled at once; a finished one is left as it is.

    Raises:
        ValueError: no such workflow.
    """
    with open_session(settings) as session:
        run = _workflow(session, workflow_id)
        store = session.store
        if run.status is Status.RUNNING:
            number = int(latest(run_entries(store, run.pathspec), EXECUTION) or 1)
            store.record_metadata(
                [NewMetadata(run.pathspec, CANCEL, MetadataValue.int(number), "system")]
            )
            while run.status is Status.RUNNING:
                time.sleep(_POLL)
                run = store.get_run(run.pathspec)
        if run.status in (Status.PENDING, Status.LOST):
            store.set_run_status(run.pathspec, Status.CANCELLED)


def delete(workflow_id: str, *, settings: Settings | None = None) -> None:
    """Delete a workflow's records (run, tasks, attempts, metadata, outputs' index rows);
    the blobs they referred to become collectable.

    Raises:
        ValueError: no such workflow.
        InvalidTransition: it is running or pending (cancel it first).
    """
    with open_session(settings) as session:
        run = _workflow(session, workflow_id)
        if run.status in (Status.RUNNING, Status.PENDING):
            raise InvalidTransition(
                f"workflow {workflow_id!r} is {from_run_status(run.status)}: cancel it "
                f"(workflow.cancel({workflow_id!r})) before deleting it",
                details={"workflow_id": workflow_id, "status": str(run.status)},
            )
        session.store.delete_run(run.pathspec)
