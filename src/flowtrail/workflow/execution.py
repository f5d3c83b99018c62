"""Running a workflow's tasks on the runtime's executor and recording every attempt through
its recorder, as the flow scheduler does: a crashed worker is always retried, an exception
only with ``retry_exceptions``, at most ``1 + max_retries`` attempts per execution."""

from __future__ import annotations

import contextlib
import pickle
import platform
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any

from flowtrail.blobs import serialize
from flowtrail.errors import FlowtrailError, WorkerDied
from flowtrail.model import (
    AttemptEnd,
    ExceptionInfo,
    MetadataValue,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    PageRequest,
    Pathspec,
    RunRecord,
    Status,
    TaskStatusChange,
    from_epoch_ms,
    utc_now,
)
from flowtrail.runtime.calls import OUTPUT
from flowtrail.runtime.executor import AttemptLost, Event, Executor
from flowtrail.runtime.messages import (
    ArtifactRef,
    CallOrder,
    LogChunk,
    MetadataNote,
    RunContext,
    exception_info,
)
from flowtrail.runtime.recorder import Recorder
from flowtrail.workflow.history import CANCEL, Session, TaskState
from flowtrail.workflow.plan import Plan, PlannedTask

__all__ = ["Execution", "Outcome"]

_CANCEL_CHECK = 0.25  # seconds between looks for a cancel request


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an execution ended: the run's status, and the task that failed, if one did."""

    status: Status
    failed_task: str | None = None
    exception: ExceptionInfo | None = None
    exception_blob: bytes | None = None


@dataclass(slots=True)
class _Attempt:
    task: PlannedTask
    pathspec: Pathspec
    number: int
    tries: int
    log_seq: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int]:
        return (str(self.pathspec), self.number)


class Execution:
    """One execution of a workflow (its first run, or a resume) to its end.

    Args:
        session: Where the workflow is recorded.
        run: Its run, already ``running``.
        plan: Its tasks.
        states: What the history says about each task (outputs of earlier executions).
        number: This execution's number (1 for the first run), which cancel requests name.
        executor: Where attempts run.
        heartbeat_every: Seconds between heartbeats.
    """

    def __init__(
        self,
        session: Session,
        run: RunRecord,
        plan: Plan,
        states: dict[str, TaskState],
        number: int,
        executor: Executor,
        heartbeat_every: float,
    ) -> None:
        self.session = session
        self.run = run.pathspec
        self.plan = plan
        self.states = states
        self.number = number
        self.executor = executor
        self.recorder = Recorder(session.store, self.run, heartbeat_every=heartbeat_every)
        self.host = socket.gethostname()
        self.python_version = platform.python_version()
        self.done: dict[str, ArtifactRef] = {
            t.task_id: ref
            for t in plan.tasks
            if t.options.checkpoint and (ref := states[t.task_id].output) is not None
        }
        self.needed = self._needed()
        self.next_number = {tid: state.attempts for tid, state in states.items()}
        # A task recorded succeeded runs again only when its output was not checkpointed.
        # Succeeded is final: its new attempts are recorded, its status is left alone.
        self.final = {tid for tid, s in states.items() if s.record.status is Status.SUCCEEDED}
        self.running: dict[tuple[str, int], _Attempt] = {}
        self.waiting: list[_Attempt] = []
        self.failure: Outcome | None = None
        self.cancel_reason: str | None = None
        self._last_cancel_check = 0.0

    def _needed(self) -> set[str]:
        by_id = self.plan.by_id()
        needed = {self.plan.output}
        for item in reversed(self.plan.tasks):
            if item.task_id in needed and item.task_id not in self.done:
                needed.update(by_id[item.task_id].upstream)
        return needed

    def _pathspec(self, item: PlannedTask) -> Pathspec:
        return self.run.child(item.step).child(item.task_id)

    # -- the loop ---------------------------------------------------------------------

    def execute(self) -> Outcome:
        """Run every task the output needs that has no recorded output; returns the end."""
        previous = self._trap_signals()
        context = RunContext(
            self.run.flow,
            self.run.run_id or "",
            "",
            (),
            {},
            None,
            self.session.settings.blob_url,
            self.session.settings.blob_options,
        )
        try:
            self._end_lost_attempts()
            self.executor.start(None, None, context)
            while self.plan.output not in self.done and self.failure is None:
                self._check_cancel()
                if self.cancel_reason is not None:
                    return self._finish(Status.CANCELLED)
                self._dispatch()
                for event in self.executor.poll(0.1):
                    self._handle(event)
                if self.recorder.due():
                    self.recorder.flush()
            return self._finish(Status.FAILED if self.failure else Status.SUCCEEDED)
        except BaseException:
            self.executor.shutdown()
            with contextlib.suppress(FlowtrailError):
                self._stop_running()
                self.recorder.flush(Status.FAILED)
            raise
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def _finish(self, status: Status) -> Outcome:
        self._stop_running()
        self.executor.shutdown()
        self.recorder.flush(status, wait=True)
        if status is Status.FAILED and self.failure is not None:
            return self.failure
        return Outcome(status)

    def _trap_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handler(signum: int, _frame: FrameType | None) -> None:
            self.cancel_reason = signal.Signals(signum).name

        return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def _check_cancel(self) -> None:
        now = time.monotonic()
        if now - self._last_cancel_check < _CANCEL_CHECK:
            return
        self._last_cancel_check = now
        page = self.session.store.find_metadata(self.run, PageRequest(100), field_name=CANCEL)
        if any(entry.value.value == self.number for entry in page.items):
            self.cancel_reason = "workflow.cancel"

    def _end_lost_attempts(self) -> None:
        """Attempts an execution that died left running are recorded lost."""
        for state in self.states.values():
            if state.record.status is Status.RUNNING and state.attempts:
                attempt = self.session.store.get_attempt(state.record.pathspec)
                if attempt.status is Status.RUNNING:
                    self.recorder.attempt_end(
                        AttemptEnd(attempt.pathspec, attempt.number, Status.LOST)
                    )

    def _stop_running(self) -> None:
        now = utc_now()
        for key, attempt in list(self.running.items()):
            for event in self.executor.stop(key):
                self._handle(event)  # its last lines
            self.recorder.attempt_end(
                AttemptEnd(attempt.pathspec, attempt.number, Status.CANCELLED, finished_at=now)
            )
            self._task_status(attempt, Status.CANCELLED, now)
        for attempt in self.waiting:
            self._task_status(attempt, Status.CANCELLED, now)
        self.running.clear()
        self.waiting.clear()

    def _task_status(self, attempt: _Attempt, status: Status, at: datetime) -> None:
        if attempt.task.task_id not in self.final:
            self.recorder.task_status(TaskStatusChange(attempt.pathspec, status, at))

    # -- starting attempts -------------------------------------------------------------

    def _dispatch(self) -> None:
        busy = {a.task.task_id for a in self.running.values()}
        queue = list(self.waiting)
        self.waiting.clear()
        for item in self.plan.tasks:
            tid = item.task_id
            if (
                tid in self.needed
                and tid not in self.done
                and tid not in busy
                and all(up in self.done for up in item.upstream)
                and not any(a.task.task_id == tid for a in queue)
            ):
                queue.append(_Attempt(item, self._pathspec(item), 0, 0))
        for attempt in queue:
            if self.executor.free <= 0:
                self.waiting.append(attempt)
                continue
            self._start(attempt)

    def _start(self, attempt: _Attempt) -> None:
        item = attempt.task
        attempt.number = self.next_number[item.task_id]
        self.next_number[item.task_id] += 1
        attempt.tries += 1
        attempt.log_seq.clear()
        order = CallOrder(
            attempt.key,
            item.task_id,
            attempt.number,
            item.payload,
            tuple((up, self.done[up]) for up in item.upstream),
            item.options.catch_exceptions,
        )
        started = utc_now()
        pid = self.executor.submit(order)
        self.running[attempt.key] = attempt
        spec = attempt.pathspec
        self.recorder.attempt(NewAttempt(spec, attempt.number, self.host, pid, started))
        self._task_status(attempt, Status.RUNNING, started)
        values: dict[str, Any] = {
            "attempt": attempt.number,
            "runtime": self.executor.name,
            "host": self.host,
            "python_version": self.python_version,
            "started_at": started.isoformat(),
            "retry": attempt.tries > 1,
        }
        if pid is not None:
            values["pid"] = pid
        self.recorder.metadata(
            [
                NewMetadata(spec, k, MetadataValue.of(v), "system", attempt.number, started)
                for k, v in values.items()
            ]
        )

    # -- events -------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        if isinstance(event, LogChunk):
            self._logs(event)
            return
        if isinstance(event, MetadataNote):
            self.recorder.metadata(list(event.entries))
            return
        attempt = self.running.pop(event.key, None)
        if attempt is None:
            return
        if isinstance(event, AttemptLost):
            error = WorkerDied(
                f"task {attempt.task.task_id!r}: attempt {attempt.number} failed: {event.reason}"
            )
            self._failed(attempt, exception_info(error), None, error, retry=True)
        elif event.ok:
            self._succeeded(attempt, event.view[OUTPUT], event.finished_ms)
        else:
            assert event.exception is not None
            retry = attempt.task.options.retry_exceptions
            self._failed(attempt, event.exception, event.exception_blob, None, retry=retry)

    def _logs(self, chunk: LogChunk) -> None:
        attempt = self.running.get(chunk.key)
        if attempt is None:
            return
        lines = []
        for stream, text, stamp in chunk.lines:
            seq = attempt.log_seq.get(stream, 0)
            attempt.log_seq[stream] = seq + 1
            lines.append(
                NewLogLine(
                    attempt.pathspec,
                    attempt.number,
                    stream,  # type: ignore[arg-type]
                    seq,
                    text,
                    from_epoch_ms(stamp),
                )
            )
        self.recorder.log_lines(lines)

    def _succeeded(
        self, attempt: _Attempt, ref: ArtifactRef, finished_ms: int, *, ok: bool = True
    ) -> None:
        finished = from_epoch_ms(finished_ms) if finished_ms else utc_now()
        spec = attempt.pathspec
        self.recorder.artifacts(
            [
                NewArtifact(
                    spec.child(OUTPUT),
                    attempt.number,
                    ref.sha,
                    ref.size,
                    ref.python_type,
                    ref.encoding,
                    ref.value,
                    finished,
                )
            ]
        )
        extra: dict[str, Any] = {"finished_at": finished.isoformat()}
        if not ok:
            extra["caught"] = True
        self.recorder.metadata(
            [
                NewMetadata(spec, k, MetadataValue.of(v), "system", attempt.number, finished)
                for k, v in extra.items()
            ]
        )
        if ok:
            self.recorder.attempt_end(
                AttemptEnd(spec, attempt.number, Status.SUCCEEDED, finished_at=finished)
            )
        self._task_status(attempt, Status.SUCCEEDED, finished)
        self.done[attempt.task.task_id] = ref

    def _failed(
        self,
        attempt: _Attempt,
        info: ExceptionInfo,
        blob: bytes | None,
        error: BaseException | None,
        *,
        retry: bool,
    ) -> None:
        now = utc_now()
        spec = attempt.pathspec
        self.recorder.attempt_end(AttemptEnd(spec, attempt.number, Status.FAILED, info, now))
        self.recorder.metadata(
            [
                NewMetadata(
                    spec, "finished_at", MetadataValue.of(now.isoformat()), "system", attempt.number
                )
            ]
        )
        options = attempt.task.options
        if retry and attempt.tries < 1 + options.max_retries and self.failure is None:
            self.waiting.append(attempt)
            return
        if options.catch_exceptions:
            self._caught(attempt, info, blob, error)
            return
        self._task_status(attempt, Status.FAILED, now)
        if self.failure is None:
            self.failure = Outcome(Status.FAILED, attempt.task.task_id, info, blob)

    def _caught(
        self,
        attempt: _Attempt,
        info: ExceptionInfo,
        blob: bytes | None,
        error: BaseException | None,
    ) -> None:
        """The last attempt failed under ``catch_exceptions``: the task's output is
        ``(None, exception)``, recorded on that attempt."""
        exc: BaseException | None = error
        if exc is None and blob is not None:
            with contextlib.suppress(Exception):
                exc = pickle.loads(blob)
        if exc is None:
            exc = FlowtrailError(f"{info.type}: {info.message}")
        packed = serialize((None, exc))
        stored = self.session.blobs.put(packed.data)
        ref = ArtifactRef(stored.sha, len(packed.data), packed.python_type, packed.encoding.value)
        self._succeeded(attempt, ref, 0, ok=False)
