"""Function-style workflows with Ray Workflows' API, recorded in the flowtrail history.

Example::

    from flowtrail import workflow

    @workflow.task
    def add(a: int, b: int) -> int:
        return a + b

    print(workflow.run(add.bind(add.bind(1, 2), 3), workflow_id="sum"))  # 6
    print(workflow.get_metadata("sum"))

Each workflow is a run (flow = the entry task's function name, run id = the workflow id),
each task a step with one task, its output the task's ``output`` artifact.
"""

from __future__ import annotations

from flowtrail.errors import WorkflowCancellationError, WorkflowExecutionError
from flowtrail.workflow.api import WorkflowFuture, resume, resume_async, run, run_async
from flowtrail.workflow.dag import WorkflowNode, WorkflowTask, task
from flowtrail.workflow.management import (
    cancel,
    delete,
    get_output,
    get_status,
    list_all,
    resume_all,
)
from flowtrail.workflow.metadata import get_metadata
from flowtrail.workflow.options import options
from flowtrail.workflow.status import WorkflowStatus

NONE = WorkflowStatus.NONE
RUNNING = WorkflowStatus.RUNNING
CANCELED = WorkflowStatus.CANCELED
SUCCESSFUL = WorkflowStatus.SUCCESSFUL
FAILED = WorkflowStatus.FAILED
RESUMABLE = WorkflowStatus.RESUMABLE
PENDING = WorkflowStatus.PENDING

__all__ = [
    "CANCELED",
    "FAILED",
    "NONE",
    "PENDING",
    "RESUMABLE",
    "RUNNING",
    "SUCCESSFUL",
    "WorkflowCancellationError",
    "WorkflowExecutionError",
    "WorkflowFuture",
    "WorkflowNode",
    "WorkflowStatus",
    "WorkflowTask",
    "cancel",
    "delete",
    "get_metadata",
    "get_output",
    "get_status",
    "list_all",
    "options",
    "resume",
    "resume_all",
    "resume_async",
    "run",
    "run_async",
    "task",
]
