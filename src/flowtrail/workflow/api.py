"""Running workflows: ``run``, ``run_async``, ``resume`` and ``resume_async``. An id that is
taken resumes its workflow, as in Ray: a finished one gives its stored output, a failed,
cancelled or dead one runs on from its checkpoints, a running one is an error."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import threading
import warnings
from datetime import timedelta
from typing import Any

from flowtrail.config import Settings
from flowtrail.errors import (
    AlreadyExists,
    InvalidPathspec,
    WorkflowCancellationError,
    WorkflowExecutionError,
)
from flowtrail.model import Batch, MetadataValue, NewMetadata, RunRecord, Status, validate_name
from flowtrail.runtime.executor import LocalExecutor
from flowtrail.workflow.dag import WorkflowNode
from flowtrail.workflow.execution import Execution, Outcome
from flowtrail.workflow.history import (
    EXECUTION,
    Session,
    check_workflow_id,
    create_workflow,
    find_workflow,
    latest,
    load_plan,
    new_workflow_id,
    open_session,
    run_entries,
    task_states,
)
from flowtrail.workflow.options import validate_user_metadata
from flowtrail.workflow.plan import plan_dag

__all__ = ["WorkflowFuture", "resume", "resume_async", "run", "run_async"]


class _Job:
    """A workflow ready to execute (its run claimed), or already finished."""

    def __init__(
        self,
        session: Session,
        stack: contextlib.ExitStack,
        run: RunRecord,
        max_workers: int | None,
        *,
        number: int = 0,
    ) -> None:
        self.session = session
        self.stack = stack
        self.run = run
        self.number = number
        self.max_workers = max_workers

    @property
    def workflow_id(self) -> str:
        return self.run.run_id

    def result(self) -> Any:
        """Execute (unless finished) and return the workflow's output."""
        with self.stack:
            states = task_states(self.session.store, self.run.pathspec)
            plan = load_plan(self.session, self.run, states)
            if self.number == 0:  # finished before: its stored output
                ref = states[plan.output].output
                assert ref is not None
                return self.session.load(ref.sha, ref.encoding)
            timeout = self.run.heartbeat_timeout.total_seconds()
            execution = Execution(
                self.session,
                self.run,
                plan,
                states,
                self.number,
                LocalExecutor(self.max_workers),
                heartbeat_every=max(min(timeout / 4, 10.0), 0.05),
            )
            outcome = execution.execute()
            if outcome.status is Status.SUCCEEDED:
                ref = execution.done[plan.output]
                return self.session.load(ref.sha, ref.encoding)
            raise _error(self.workflow_id, outcome)


def _error(workflow_id: str, outcome: Outcome) -> Exception:
    if outcome.status is Status.CANCELLED:
        return WorkflowCancellationError(f"workflow {workflow_id!r} was cancelled")
    info = outcome.exception
    text = f"{info.type}: {info.message}" if info is not None else "it failed"
    error = WorkflowExecutionError(
        f"workflow {workflow_id!r} failed: task {outcome.failed_task!r} raised {text}",
        details={"workflow_id": workflow_id, "task_id": outcome.failed_task},
    )
    if outcome.exception_blob is not None:
        import pickle

        with contextlib.suppress(Exception):
            error.__cause__ = pickle.loads(outcome.exception_blob)
    return error


def _prepare(
    dag: WorkflowNode | None,
    workflow_id: str | None,
    metadata: dict[str, Any] | None,
    *,
    name: str | None,
    settings: Settings | None,
    max_workers: int | None,
    heartbeat_timeout: float,
) -> _Job:
    validate_user_metadata(metadata)
    if dag is not None and not isinstance(dag, WorkflowNode):
        raise TypeError(
            f"workflow.run takes a DAG node made by task.bind(...), got {type(dag).__name__}"
        )
    workflow_id = check_workflow_id(workflow_id) if workflow_id is not None else new_workflow_id()
    if name is not None:
        try:
            validate_name("flow", name)
        except InvalidPathspec as exc:
            raise ValueError(str(exc)) from None
    stack = contextlib.ExitStack()
    try:
        session = stack.enter_context(open_session(settings))
        for _ in range(2):  # a second look when another process created it meanwhile
            found = find_workflow(session.store, workflow_id)
            if found is not None:
                if found.status in (Status.RUNNING, Status.PENDING):
                    raise _busy(workflow_id)
                if dag is not None:
                    warnings.warn(
                        f"workflow {workflow_id!r} exists already ({found.status}): it is "
                        f"resumed, and the DAG given to workflow.run is ignored",
                        stacklevel=3,
                    )
                return _claim(session, stack, found, max_workers)
            if dag is None:
                raise ValueError(f"No such workflow_id {workflow_id!r}")
            plan = plan_dag(dag)
            flow = name or _flow_name(dag)
            try:
                run = create_workflow(
                    session,
                    plan,
                    workflow_id,
                    flow,
                    dict(metadata or {}),
                    timedelta(seconds=heartbeat_timeout),
                )
            except AlreadyExists:
                continue
            return _Job(session, stack, run, max_workers, number=1)
        raise ValueError(
            f"flow {flow!r} already has a run {workflow_id!r} that is not a workflow: "
            f"choose another workflow_id, or pass name= to workflow.run to record it under "
            f"another flow"
        )
    except BaseException:
        stack.close()
        raise


def _flow_name(dag: WorkflowNode) -> str:
    name = getattr(dag.func, "__name__", "")
    try:
        return validate_name("flow", name)
    except InvalidPathspec:
        raise ValueError(
            f"the entry task's function name {name!r} cannot name a flow: pass name= to "
            f"workflow.run"
        ) from None


def _busy(workflow_id: str) -> RuntimeError:
    return RuntimeError(f"Workflow '{workflow_id}' is already running or pending.")


def _claim(
    session: Session, stack: contextlib.ExitStack, run: RunRecord, max_workers: int | None
) -> _Job:
    """Take a recorded workflow over: a finished one only to read; a failed, cancelled or
    lost one to run on. Two processes claiming at once write the same batch id: one wins."""
    if run.status in (Status.RUNNING, Status.PENDING):
        raise _busy(run.run_id)
    if run.status is Status.SUCCEEDED:
        return _Job(session, stack, run, max_workers)
    number = int(latest(run_entries(session.store, run.pathspec), EXECUTION) or 1) + 1
    claim = hashlib.sha256(f"workflow-execution:{run.pathspec}:{number}".encode()).hexdigest()
    result = session.store.write_batch(
        Batch(
            claim,
            run.pathspec,
            metadata=(NewMetadata(run.pathspec, EXECUTION, MetadataValue.int(number), "system"),),
            run_status=Status.RUNNING,
        )
    )
    if not result.applied:
        raise _busy(run.run_id)
    return _Job(session, stack, session.store.get_run(run.pathspec), max_workers, number=number)


class WorkflowFuture:
    """A workflow running in a thread of this process: ``result()`` waits for its output.

    Attributes:
        workflow_id: The workflow's id.
    """

    def __init__(self, job: _Job) -> None:
        self.workflow_id = job.workflow_id
        self._future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._work, args=(job,), name=f"flowtrail-workflow-{self.workflow_id}"
        )
        self._thread.start()

    def _work(self, job: _Job) -> None:
        try:
            self._future.set_result(job.result())
        except BaseException as exc:
            self._future.set_exception(exc)

    def result(self, timeout: float | None = None) -> Any:
        """The workflow's output, once it has finished.

        Raises:
            WorkflowExecutionError: it failed.
            WorkflowCancellationError: it was cancelled.
            TimeoutError: it did not finish within ``timeout`` seconds.
        """
        return self._future.result(timeout)

    def done(self) -> bool:
        """Whether it has finished (successfully or not)."""
        return self._future.done()

    def __repr__(self) -> str:
        state = "done" if self.done() else "running"
        return f"WorkflowFuture({self.workflow_id!r}, {state})"


def run(
    dag: WorkflowNode,
    workflow_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    settings: Settings | None = None,
    max_workers: int | None = None,
    heartbeat_timeout: float = 120.0,
) -> Any:
    """Run a workflow to its end in this process and return its output.

    Args:
        dag: The DAG's output node (``task.bind(...)``).
        workflow_id: Its id (default: a new one). An id in use resumes that workflow.
        metadata: Workflow-level user metadata, a JSON-serialisable dict.
        name: The flow name in the history (default: the entry function's name).
        settings: Where to record (default: resolved as the CLI does).
        max_workers: Worker processes (default: the number of cores).
        heartbeat_timeout: Seconds of silence after which the workflow counts as dead
            (``RESUMABLE``).

    Raises:
        ValueError: bad metadata or id.
        RuntimeError: the workflow is already running or pending.
        WorkflowExecutionError: a task failed.
        WorkflowCancellationError: the workflow was cancelled.
    """
    return _prepare(
        dag,
        workflow_id,
        metadata,
        name=name,
        settings=settings,
        max_workers=max_workers,
        heartbeat_timeout=heartbeat_timeout,
    ).result()


def run_async(
    dag: WorkflowNode,
    workflow_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    settings: Settings | None = None,
    max_workers: int | None = None,
    heartbeat_timeout: float = 120.0,
) -> WorkflowFuture:
    """Start a workflow in a thread; ``.result()`` of what it returns waits for the output.
    Arguments and errors raised at once are those of :func:`run`."""
    return WorkflowFuture(
        _prepare(
            dag,
            workflow_id,
            metadata,
            name=name,
            settings=settings,
            max_workers=max_workers,
            heartbeat_timeout=heartbeat_timeout,
        )
    )


def resume(
    workflow_id: str, *, settings: Settings | None = None, max_workers: int | None = None
) -> Any:
    """Resume a failed, cancelled or dead workflow from its checkpoints and return its
    output (a finished one returns its stored output).

    Raises:
        ValueError: no such workflow.
        RuntimeError: it is running or pending.
    """
    return _resume(workflow_id, settings, max_workers).result()


def resume_async(
    workflow_id: str, *, settings: Settings | None = None, max_workers: int | None = None
) -> WorkflowFuture:
    """:func:`resume` in a thread."""
    return WorkflowFuture(_resume(workflow_id, settings, max_workers))


def _resume(workflow_id: str, settings: Settings | None, max_workers: int | None) -> _Job:
    return _prepare(
        None,
        check_workflow_id(workflow_id),
        None,
        name=None,
        settings=settings,
        max_workers=max_workers,
        heartbeat_timeout=120.0,
    )
