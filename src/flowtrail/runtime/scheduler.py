"""The scheduler walks a flow's graph: it creates tasks, hands attempts to an executor, fans
out foreaches, waits for joins, retries, clones tasks when resuming, and records everything as
it happens through its :class:`Recorder` (it is the run's only writer)."""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import os
import pickle
import platform
import signal
import socket
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from flowtrail.blobs import BlobStore, serialize
from flowtrail.errors import FlowtrailError, InvalidFlow, StepTimeout, WorkerDied
from flowtrail.model import (
    AttemptEnd,
    ExceptionInfo,
    ForeachFrame,
    MetadataValue,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewStep,
    NewTask,
    Pathspec,
    Status,
    TaskStatusChange,
    from_epoch_ms,
    utc_now,
)
from flowtrail.runtime.decorators import StepOptions, options_of
from flowtrail.runtime.exectags import ExecutionTags
from flowtrail.runtime.executor import AttemptLost, Event, Executor
from flowtrail.runtime.graph import FlowGraph, StepNode, Transition
from flowtrail.runtime.messages import (
    ArtifactRef,
    LogChunk,
    MetadataNote,
    RunContext,
    TaskOrder,
    TaskResult,
    exception_info,
    pickled_exception,
)
from flowtrail.runtime.progress import Progress
from flowtrail.runtime.recorder import Recorder
from flowtrail.runtime.resume import Clone, Origin
from flowtrail.store import MetadataStore

__all__ = ["RunOutcome", "Scheduler"]

View = dict[str, ArtifactRef]


@dataclass(slots=True)
class _Task:
    pathspec: Pathspec
    node: StepNode
    stack: tuple[ForeachFrame, ...]
    parents: tuple[Pathspec, ...]
    view: View
    options: StepOptions
    inputs: tuple[tuple[str, View], ...] | None = None
    foreach: tuple[ArtifactRef, int] | None = None
    attempt: int = 0
    not_before: float = 0.0
    started: float = 0.0
    last_exception: ExceptionInfo | None = None
    last_exception_blob: bytes | None = None
    log_seq: dict[str, int] = field(default_factory=dict)

    @property
    def index(self) -> int | None:
        return self.stack[-1].index if self.stack else None

    @property
    def key(self) -> tuple[str, int]:
        return (str(self.pathspec), self.attempt)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended: its status and, when it failed, the task and exception that did it."""

    run: Pathspec
    status: Status
    failed_task: Pathspec | None = None
    exception: ExceptionInfo | None = None

    def describe(self) -> str | None:
        """The failing task and its exception, for people; ``None`` when nothing failed."""
        if self.failed_task is None or self.exception is None:
            return None
        text = f"task {self.failed_task} failed: {self.exception.type}: {self.exception.message}"
        if self.exception.traceback:
            text += "\n" + self.exception.traceback.rstrip()
        return text


class Scheduler:
    """Runs one recorded run to its end.

    Args:
        store: The metadata store (the scheduler is the run's only writer).
        blobs: The blob store the workers write artifacts to.
        executor: Where attempts run.
        graph: The flow's checked graph.
        flow_cls: The flow class.
        run: The run's context (already created in the store, status ``running``).
        progress: What to show while it runs.
        origin: For a resumed run, the run it resumes and which steps it clones.
        parameter_view: The parameter artifacts every task starts with.
        heartbeat_every: Seconds between heartbeats.
        store_retry_for: Seconds the metadata store may stay unavailable (records are held
            and sent again when it is back) before the run stops.
        execution: The run's execution tags: default retries and timeout of every step.
    """

    def __init__(
        self,
        store: MetadataStore,
        blobs: BlobStore,
        executor: Executor,
        graph: FlowGraph,
        flow_cls: type,
        run: RunContext,
        progress: Progress,
        *,
        origin: Origin | None = None,
        parameter_view: View | None = None,
        heartbeat_every: float = 10.0,
        store_retry_for: float = 60.0,
        execution: ExecutionTags | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.executor = executor
        self.graph = graph
        self.flow_cls = flow_cls
        self.ctx = run
        self.progress = progress
        self.origin = origin
        self.parameter_view = dict(parameter_view or {})
        self.execution = execution or ExecutionTags()
        self.run = Pathspec(run.flow_name, run.run_id)
        self.recorder = Recorder(
            store, self.run, heartbeat_every=heartbeat_every, retry_for=store_retry_for
        )
        self.host = socket.gethostname()
        self.python_version = platform.python_version()
        self._next_id = 1
        self._steps_recorded: set[str] = set()
        self._ready: collections.deque[_Task] = collections.deque()
        self._waiting: list[_Task] = []  # retries not yet due
        self._running: dict[tuple[str, int], _Task] = {}
        #: Attempts that ended, for the log lines a process they left behind writes later:
        #: the task, the attempt and the next seq of each stream.
        self._ended: dict[tuple[str, int], tuple[Pathspec, int, dict[str, int]]] = {}
        self._joins: dict[tuple[str, tuple[int, ...]], list[tuple[_Task, View]]] = {}
        self._failed: tuple[Pathspec, ExceptionInfo] | None = None
        self._cancel: str | None = None
        self._end_done = False

    # -- the loop ---------------------------------------------------------------------------

    def request_cancel(self, why: str) -> None:
        """Ask the run to stop (safe to call from a signal handler)."""
        self._cancel = why

    def execute(self) -> RunOutcome:
        """Run the flow from ``start`` to its end; returns how it ended."""
        self.progress.run_started(str(self.run), list(self.graph.order))
        previous = self._trap_signals()
        self.executor.start(self.flow_cls, self.graph, self.ctx)
        try:
            self._new_task(self.graph["start"], (), (), dict(self.parameter_view))
            while self._ready or self._waiting or self._running:
                if self._cancel is not None:
                    return self._finish(Status.CANCELLED)
                self._dispatch()
                self._check_timeouts()
                for event in self.executor.poll(self._poll_timeout()):
                    self._handle(event)
                if self.recorder.due():
                    self.recorder.flush()
                self.progress.tick()
            if self._cancel is not None:
                return self._finish(Status.CANCELLED)
            if self._failed is None and not self._end_done:
                raise InvalidFlow(
                    f"run {self.run} stopped before its end step: a join is missing inputs"
                )
            return self._finish(Status.FAILED if self._failed else Status.SUCCEEDED)
        except BaseException:
            self.executor.shutdown()
            self._stop_running()
            with contextlib.suppress(FlowtrailError):
                self.recorder.flush(Status.FAILED)
            raise
        finally:
            self._restore_signals(previous)

    def _poll_timeout(self) -> float:
        if self._ready and self.executor.free > 0:
            return 0.0
        timeout = 0.1
        now = time.monotonic()
        for task in self._waiting:
            timeout = min(timeout, max(task.not_before - now, 0.0))
        return timeout

    def _finish(self, status: Status) -> RunOutcome:
        self.executor.shutdown()
        if status is not Status.SUCCEEDED:
            self._stop_running()
        self.recorder.flush(status, wait=True)
        failure = self._failed
        outcome = RunOutcome(
            self.run,
            status,
            failure[0] if failure else None,
            failure[1] if failure else None,
        )
        self.progress.run_ended(str(self.run), status.value, outcome.describe())
        return outcome

    def _stop_running(self) -> None:
        """Stop every attempt still running and record it, and every task not started, as
        cancelled (after :meth:`Executor.shutdown` there is nothing left to stop)."""
        now = utc_now()
        for key, task in list(self._running.items()):
            for event in self.executor.stop(key):
                self._handle(event)  # its last lines and metadata
            self.recorder.attempt_end(
                AttemptEnd(task.pathspec, task.attempt, Status.CANCELLED, finished_at=now)
            )
            self.recorder.metadata([self._finished_at(task, now)])
            self.recorder.task_status(TaskStatusChange(task.pathspec, Status.CANCELLED, now))
        for task in [*self._ready, *self._waiting]:
            self.recorder.task_status(TaskStatusChange(task.pathspec, Status.CANCELLED, now))
        for task in self._running.values():
            self._attempt_over(task)
        self._running.clear()
        self._ready.clear()
        self._waiting.clear()

    def _trap_signals(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}

        def handler(signum: int, _frame: FrameType | None) -> None:
            self.request_cancel(signal.Signals(signum).name)

        for sig in (signal.SIGINT, signal.SIGTERM):
            # Outside the main thread signals cannot be trapped: the caller handles them.
            with contextlib.suppress(ValueError):
                previous[sig] = signal.signal(sig, handler)
        return previous

    @staticmethod
    def _restore_signals(previous: dict[int, Any]) -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    # -- creating and starting tasks --------------------------------------------------------

    def _new_task(
        self,
        node: StepNode,
        stack: tuple[ForeachFrame, ...],
        parents: tuple[Pathspec, ...],
        view: View,
        *,
        inputs: tuple[tuple[str, View], ...] | None = None,
        foreach: tuple[ArtifactRef, int] | None = None,
    ) -> None:
        pathspec = self.run.child(node.name).child(str(self._next_id))
        self._next_id += 1
        if node.name not in self._steps_recorded:
            self._steps_recorded.add(node.name)
            self.recorder.step(
                NewStep(self.run.child(node.name), node.kind, node.next_steps, utc_now())
            )
        options = self.execution.step_options(options_of(node.func))
        task = _Task(pathspec, node, stack, parents, view, options, inputs, foreach)
        clone = self.origin.clone_for(node.name, stack) if self.origin is not None else None
        if clone is not None:
            self._clone(task, clone)
            return
        # Pending until a worker takes its first attempt: a queued task is not running.
        self.recorder.task(NewTask(pathspec, Status.PENDING, stack, parents, created_at=utc_now()))
        self._ready.append(task)

    def _dispatch(self) -> None:
        if self._failed is not None:
            return
        now = time.monotonic()
        due = [t for t in self._waiting if t.not_before <= now]
        for task in due:
            self._waiting.remove(task)
            self._ready.append(task)
        while self._ready and self.executor.free > 0:
            task = self._ready.popleft()
            order = TaskOrder(
                task.key,
                task.node.name,
                task.pathspec.task_id or "",
                task.attempt,
                task.view,
                task.inputs,
                task.foreach,
                task.index,
            )
            started = utc_now()
            pid = self.executor.submit(order)
            task.started = time.monotonic()
            task.log_seq = {}  # each attempt's log counts its lines from 0
            self._running[task.key] = task
            if task.attempt == 0:
                self.recorder.task_status(TaskStatusChange(task.pathspec, Status.RUNNING, started))
            self.recorder.attempt(NewAttempt(task.pathspec, task.attempt, self.host, pid, started))
            self.recorder.metadata(self._system_metadata(task, pid, started))
            self.progress.task_started(task.node.name, str(task.pathspec), task.attempt)

    def _system_metadata(
        self, task: _Task, pid: int | None, started: _dt.datetime
    ) -> list[NewMetadata]:
        values: dict[str, Any] = {
            "attempt": task.attempt,
            "runtime": self.executor.name,
            "host": self.host,
            "python_version": self.python_version,
            "started_at": started.isoformat(),
            "retry": task.attempt > 0,
        }
        if pid is not None:
            values["pid"] = pid
        return [
            NewMetadata(
                task.pathspec, name, MetadataValue.of(value), "system", task.attempt, started
            )
            for name, value in values.items()
        ]

    @staticmethod
    def _finished_at(task: _Task, at: _dt.datetime) -> NewMetadata:
        return NewMetadata(
            task.pathspec,
            "finished_at",
            MetadataValue.of(at.isoformat()),
            "system",
            task.attempt,
            at,
        )

    def _check_timeouts(self) -> None:
        now = time.monotonic()
        for key, task in list(self._running.items()):
            limit = task.options.timeout
            if limit is not None and now - task.started > limit:
                for event in self.executor.stop(key):
                    self._handle(event)  # its last lines and metadata
                self._attempt_over(self._running.pop(key))
                error = StepTimeout(
                    f"step {task.node.name!r} timed out after {limit:g} seconds "
                    f"({task.options.timeout_source})"
                )
                self._attempt_failed(
                    task,
                    exception_info(error),
                    pickled_exception(error),
                    note=" (timed out)",
                )

    # -- events -----------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        if isinstance(event, LogChunk):
            self._logs(event)
            return
        if isinstance(event, MetadataNote):
            # Recorded as it comes, even for an attempt given up on: its row exists.
            self.recorder.metadata(list(event.entries))
            return
        task = self._running.pop(event.key, None)
        if task is None:
            return  # an attempt already given up on (timed out, cancelled)
        self._attempt_over(task)
        if isinstance(event, AttemptLost):
            error = WorkerDied(
                f"step {task.node.name!r}: attempt {task.attempt} of {task.pathspec} failed: "
                f"{event.reason}"
            )
            self._attempt_failed(
                task,
                exception_info(error),
                pickled_exception(error),
                note=f" ({event.reason})",
            )
            return
        if event.ok:
            self._attempt_succeeded(task, event)
        else:
            assert event.exception is not None
            # What the attempt had set when it failed, for the post-mortem (as Metaflow).
            finished = from_epoch_ms(event.finished_ms) if event.finished_ms else utc_now()
            self._record_artifacts(task, event.view, finished)
            self._attempt_failed(task, event.exception, event.exception_blob, note="")

    def _attempt_over(self, task: _Task) -> None:
        """Note an attempt that left the running ones (before a retry takes its number)."""
        self._ended[task.key] = (task.pathspec, task.attempt, dict(task.log_seq))

    def _logs(self, chunk: LogChunk) -> None:
        task = self._running.get(chunk.key)
        # An ended attempt's lines: a process it left behind writes on.
        target = (task.pathspec, task.attempt, task.log_seq) if task else self._ended.get(chunk.key)
        if target is None:
            return
        pathspec, attempt, seqs = target
        lines = []
        for stream, text, stamp in chunk.lines:
            seq = seqs.get(stream, 0)
            seqs[stream] = seq + 1
            lines.append(
                NewLogLine(pathspec, attempt, stream, seq, text, from_epoch_ms(stamp))  # type: ignore[arg-type]
            )
        self.recorder.log_lines(lines)

    def _attempt_succeeded(self, task: _Task, result: TaskResult) -> None:
        finished = from_epoch_ms(result.finished_ms) if result.finished_ms else utc_now()
        self._record_artifacts(task, result.view, finished)
        extra: dict[str, Any] = {"finished_at": finished.isoformat()}
        if result.splits is not None:
            extra["foreach_splits"] = result.splits
        self.recorder.metadata(
            [
                NewMetadata(task.pathspec, k, MetadataValue.of(v), "system", task.attempt, finished)
                for k, v in extra.items()
            ]
        )
        self.recorder.attempt_end(
            AttemptEnd(task.pathspec, task.attempt, Status.SUCCEEDED, finished_at=finished)
        )
        self.recorder.task_status(TaskStatusChange(task.pathspec, Status.SUCCEEDED, finished))
        self.progress.task_ended(task.node.name, str(task.pathspec), task.attempt, True, "")
        self._advance(task, result.view, result.splits)

    def _record_artifacts(self, task: _Task, view: View, at: _dt.datetime) -> None:
        self.recorder.artifacts(
            [
                NewArtifact(
                    task.pathspec.child(name),
                    task.attempt,
                    ref.sha,
                    ref.size,
                    ref.python_type,
                    ref.encoding,
                    ref.value,
                    at,
                )
                for name, ref in sorted(view.items())
            ]
        )

    def _attempt_failed(
        self, task: _Task, exception: ExceptionInfo, blob: bytes | None, note: str
    ) -> None:
        finished = utc_now()
        self.recorder.attempt_end(
            AttemptEnd(task.pathspec, task.attempt, Status.FAILED, exception, finished)
        )
        self.recorder.metadata([self._finished_at(task, finished)])
        task.last_exception = exception
        task.last_exception_blob = blob
        retrying = task.attempt < task.options.retries and self._failed is None
        suffix = note + (f", retrying in {task.options.retry_delay:g}s" if retrying else "")
        self.progress.task_ended(task.node.name, str(task.pathspec), task.attempt, False, suffix)
        if retrying:
            task.attempt += 1
            task.not_before = time.monotonic() + task.options.retry_delay
            self._waiting.append(task)
            return
        if task.options.catch_set and task.node.transition is not Transition.FOREACH:
            self._caught(task)
            return
        self.recorder.task_status(TaskStatusChange(task.pathspec, Status.FAILED, finished))
        if self._failed is None:
            self._failed = (task.pathspec, exception)
            # The run has failed: stop what still runs, start nothing new.
            self._stop_running()

    def _caught(self, task: _Task) -> None:
        """Every attempt failed under ``@catch``: one more attempt stores the exception and
        lets the flow go on."""
        task.attempt += 1
        now = utc_now()
        view = dict(task.view)
        if task.inputs is not None:
            view = dict(self.parameter_view)
        var = task.options.catch_var
        if var is not None:
            value: Any = None
            if task.last_exception_blob is not None:
                try:
                    value = pickle.loads(task.last_exception_blob)
                except Exception:
                    value = None
            if value is None and task.last_exception is not None:
                value = FlowtrailError(f"{task.last_exception.type}: {task.last_exception.message}")
            packed = serialize(value)
            ref = self.blobs.put(packed.data)
            view[var] = ArtifactRef(
                ref.sha, len(packed.data), packed.python_type, packed.encoding.value, None
            )
        # The scheduler makes this attempt itself: its pid is the scheduler's.
        pid = os.getpid()
        self.recorder.attempt(NewAttempt(task.pathspec, task.attempt, self.host, pid, now))
        self.recorder.metadata(
            [
                *self._system_metadata(task, pid, now),
                NewMetadata(
                    task.pathspec, "caught", MetadataValue.of(True), "system", task.attempt, now
                ),
                self._finished_at(task, now),
            ]
        )
        self._record_artifacts(task, view, now)
        self.recorder.attempt_end(
            AttemptEnd(task.pathspec, task.attempt, Status.SUCCEEDED, finished_at=now)
        )
        self.recorder.task_status(TaskStatusChange(task.pathspec, Status.SUCCEEDED, now))
        self.progress.task_ended(
            task.node.name, str(task.pathspec), task.attempt, True, " (exception caught)"
        )
        self._advance(task, view, None)

    # -- walking the graph ------------------------------------------------------------------

    def _advance(self, task: _Task, view: View, splits: int | None) -> None:
        node = task.node
        if node.transition is Transition.NONE:
            self._end_done = True
            return
        if node.transition is Transition.FOREACH:
            assert splits is not None
            assert node.foreach_var is not None
            target = self.graph[node.next_steps[0]]
            items = view[node.foreach_var]
            for index in range(splits):
                frame = ForeachFrame(node.name, index, splits)
                self._new_task(
                    target,
                    (*task.stack, frame),
                    (task.pathspec,),
                    view,
                    foreach=(items, index),
                )
            return
        for name in node.next_steps:
            target = self.graph[name]
            if target.is_join:
                self._arrive(target, task, view)
            else:
                self._new_task(target, task.stack, (task.pathspec,), view)

    def _arrive(self, join: StepNode, task: _Task, view: View) -> None:
        closes = join.closes
        assert closes is not None
        if closes.foreach:
            outer = task.stack[:-1]
            expected = task.stack[-1].num_splits or 0
        else:
            outer = task.stack
            expected = len(join.in_steps)
        group_key = (join.name, tuple(frame.index for frame in outer))
        group = self._joins.setdefault(group_key, [])
        group.append((task, view))
        if len(group) < expected:
            return
        del self._joins[group_key]
        if closes.foreach:
            group.sort(key=lambda item: item[0].stack[-1].index)
        else:
            group.sort(key=lambda item: join.in_steps.index(item[0].node.name))
        self._new_task(
            join,
            outer,
            tuple(t.pathspec for t, _ in group),
            dict(self.parameter_view),
            inputs=tuple((t.node.name, v) for t, v in group),
        )

    # -- resume -----------------------------------------------------------------------------

    def _clone(self, task: _Task, clone: Clone) -> None:
        """Take a successful task of the origin run over: its rows point at the same blobs."""
        assert self.origin is not None
        now = utc_now()
        self.recorder.task(
            NewTask(
                task.pathspec,
                Status.RUNNING,
                task.stack,
                task.parents,
                origin_pathspec=clone.task.pathspec,
                created_at=now,
            )
        )
        records = self.origin.copy(clone, task.pathspec, now)
        self.recorder.attempt(records.attempt)
        self.recorder.metadata(list(records.metadata))
        self.recorder.artifacts(list(records.artifacts))
        self.recorder.log_lines(list(records.log_lines))
        self.recorder.attempt_end(records.attempt_end)
        self.recorder.task_status(
            TaskStatusChange(task.pathspec, Status.SUCCEEDED, records.attempt_end.finished_at)
        )
        self.progress.task_cloned(task.node.name, str(task.pathspec), str(clone.task.pathspec))
        self._advance(task, dict(records.view), records.splits)
