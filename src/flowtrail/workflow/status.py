"""Ray's workflow statuses, and how each follows from the run's recorded status."""

from __future__ import annotations

from enum import StrEnum

from flowtrail.model import Status

__all__ = ["WorkflowStatus", "from_run_status", "run_statuses"]


class WorkflowStatus(StrEnum):
    """The status of a workflow, as Ray Workflows names it.

    ``RUNNING``: its process runs it. ``SUCCESSFUL``: it finished. ``FAILED``: a task
    failed. ``CANCELED``: it was cancelled. ``RESUMABLE``: its process died (its heartbeat
    stopped and that was recorded): ``resume`` continues it. ``PENDING``: recorded, not
    started. ``NONE``: no status (never returned for a recorded workflow).
    """

    NONE = "NONE"
    RUNNING = "RUNNING"
    CANCELED = "CANCELED"
    SUCCESSFUL = "SUCCESSFUL"
    FAILED = "FAILED"
    RESUMABLE = "RESUMABLE"
    PENDING = "PENDING"


_FROM_RUN = {
    Status.PENDING: WorkflowStatus.PENDING,
    Status.RUNNING: WorkflowStatus.RUNNING,
    Status.SUCCEEDED: WorkflowStatus.SUCCESSFUL,
    Status.FAILED: WorkflowStatus.FAILED,
    Status.CANCELLED: WorkflowStatus.CANCELED,
    Status.LOST: WorkflowStatus.RESUMABLE,
}


def from_run_status(status: Status) -> WorkflowStatus:
    """The workflow status of a run in ``status``."""
    return _FROM_RUN[status]


def run_statuses(statuses: set[WorkflowStatus]) -> frozenset[Status]:
    """The run statuses that mean any of ``statuses``."""
    return frozenset(run for run, wf in _FROM_RUN.items() if wf in statuses)
