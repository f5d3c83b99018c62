"""The scheduler's writer: it gathers records as things happen and writes them in idempotent
batches, a few times a second and at every turn of the run, never only at the end."""

from __future__ import annotations

import collections
import time
import uuid
from dataclasses import dataclass, field

from flowtrail.errors import FlowtrailError, StoreUnavailable
from flowtrail.model import (
    AttemptEnd,
    Batch,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewStep,
    NewTask,
    Pathspec,
    Status,
    TaskStatusChange,
)
from flowtrail.store import MetadataStore

__all__ = ["Recorder"]

_FIRST_DELAY = 0.05  # seconds before the first retry of an unavailable store; doubles to 2


@dataclass(slots=True)
class _Pending:
    steps: list[NewStep] = field(default_factory=list)
    tasks: list[NewTask] = field(default_factory=list)
    attempts: list[NewAttempt] = field(default_factory=list)
    metadata: list[NewMetadata] = field(default_factory=list)
    artifacts: list[NewArtifact] = field(default_factory=list)
    log_lines: list[NewLogLine] = field(default_factory=list)
    attempt_ends: list[AttemptEnd] = field(default_factory=list)
    task_statuses: list[TaskStatusChange] = field(default_factory=list)

    def size(self) -> int:
        return (
            len(self.steps)
            + len(self.tasks)
            + len(self.attempts)
            + len(self.metadata)
            + len(self.artifacts)
            + len(self.log_lines)
            + len(self.attempt_ends)
            + len(self.task_statuses)
        )


class Recorder:
    """Buffers one run's records and writes them as batches.

    Args:
        store: Where to write.
        run: The run's pathspec.
        interval: Seconds records may wait before they are written.
        heartbeat_every: Seconds between heartbeats when nothing else is written.
        max_records: A batch is written as soon as it holds this many records.
        retry_for: Seconds a store may stay unavailable (records are held and retried
            meanwhile) before the run gives up.
    """

    def __init__(
        self,
        store: MetadataStore,
        run: Pathspec,
        *,
        interval: float = 0.1,
        heartbeat_every: float = 10.0,
        max_records: int = 5000,
        retry_for: float = 60.0,
    ) -> None:
        self.store = store
        self.run = run
        self.interval = interval
        self.heartbeat_every = heartbeat_every
        self.max_records = max_records
        self.retry_for = retry_for
        self.pending = _Pending()
        self._oldest: float | None = None
        self._last_write = time.monotonic()
        self._outbox: collections.deque[Batch] = collections.deque()
        self._down_since: float | None = None  # when the store stopped answering
        self._retry_at = 0.0
        self._delay = _FIRST_DELAY
        self.batches = 0

    def _touch(self) -> None:
        if self._oldest is None:
            self._oldest = time.monotonic()

    def step(self, item: NewStep) -> None:
        """Record a step."""
        self._touch()
        self.pending.steps.append(item)

    def task(self, item: NewTask) -> None:
        """Record a new task."""
        self._touch()
        self.pending.tasks.append(item)

    def attempt(self, item: NewAttempt) -> None:
        """Record an attempt starting."""
        self._touch()
        self.pending.attempts.append(item)

    def metadata(self, items: list[NewMetadata]) -> None:
        """Record metadata entries."""
        self._touch()
        self.pending.metadata.extend(items)

    def artifacts(self, items: list[NewArtifact]) -> None:
        """Record artifact rows."""
        self._touch()
        self.pending.artifacts.extend(items)

    def log_lines(self, items: list[NewLogLine]) -> None:
        """Record log lines."""
        self._touch()
        self.pending.log_lines.extend(items)

    def attempt_end(self, item: AttemptEnd) -> None:
        """Record an attempt's end."""
        self._touch()
        self.pending.attempt_ends.append(item)

    def task_status(self, item: TaskStatusChange) -> None:
        """Record a task's new status."""
        self._touch()
        self.pending.task_statuses.append(item)

    def due(self) -> bool:
        """Whether it is time to write (records waited long enough, a heartbeat is due, or
        batches held back by an unavailable store may be retried)."""
        now = time.monotonic()
        if self._outbox:
            return now >= self._retry_at
        if self.pending.size() >= self.max_records:
            return True
        if self._oldest is not None and now - self._oldest >= self.interval:
            return True
        return now - self._last_write >= self.heartbeat_every

    @property
    def held(self) -> int:
        """Batches written but not yet accepted by the store (it was unavailable)."""
        return len(self._outbox)

    def flush(self, run_status: Status | None = None, *, wait: bool = False) -> None:
        """Write everything gathered (with a heartbeat, and the run's status if given).

        Batches go out in the order they were made. When the store is unavailable the
        batch is held, with any earlier ones, and sent again on a later call: the run goes
        on meanwhile, and a store that comes back within ``retry_for`` seconds receives
        everything. Each batch keeps its id, so one the store applied before the error
        reached us is not applied twice.

        Args:
            run_status: The run's new status, written with this batch.
            wait: Keep retrying (with backoff) until every batch is accepted or
                ``retry_for`` has passed, instead of returning with batches held (the end
                of a run waits; the loop does not).

        Raises:
            StoreUnavailable: the store has been unavailable for longer than ``retry_for``
                seconds (the message says since when and what is lost).
        """
        if self.pending.size() or run_status is not None or not self._outbox:
            self._outbox.append(self._batch(run_status))
        while True:
            try:
                self._send_held()
                return
            except StoreUnavailable as exc:
                now = time.monotonic()
                if self._down_since is None:
                    self._down_since = now
                self._retry_at = now + self._delay
                down_for = now - self._down_since
                if down_for >= self.retry_for:
                    raise StoreUnavailable(
                        f"the metadata store has been unavailable for {down_for:.0f} s "
                        f"(the limit is {self.retry_for:g} s): the run stops. Everything "
                        f"recorded before is kept; {self._held_records()} records of the "
                        f"last {len(self._outbox)} batches were not written. Last error: "
                        f"{exc.message}",
                        details={"run": str(self.run), "unavailable_s": round(down_for, 1)},
                    ) from exc
                if not wait:
                    self._delay = min(self._delay * 2, 2.0)
                    return
                time.sleep(min(self._delay, max(self.retry_for - down_for, 0.0)))
                self._delay = min(self._delay * 2, 2.0)

    def _send_held(self) -> None:
        while self._outbox:
            try:
                self.store.write_batch(self._outbox[0])
            except StoreUnavailable:
                raise
            except FlowtrailError:
                # Refused (a transition the store forbids, a record it rejects): sending it
                # again would be refused again and would hold back every later batch,
                # the run's final status included. It is dropped; the error goes up.
                self._outbox.popleft()
                raise
            self._outbox.popleft()
            self.batches += 1
        self._down_since = None
        self._delay = _FIRST_DELAY
        self._last_write = time.monotonic()

    def _held_records(self) -> int:
        return sum(
            len(b.steps)
            + len(b.tasks)
            + len(b.attempts)
            + len(b.metadata)
            + len(b.artifacts)
            + len(b.log_lines)
            + len(b.attempt_ends)
            + len(b.task_statuses)
            for b in self._outbox
        )

    def _batch(self, run_status: Status | None) -> Batch:
        pending, self.pending = self.pending, _Pending()
        self._oldest = None
        return Batch(
            batch_id=uuid.uuid4().hex,
            run=self.run,
            steps=tuple(pending.steps),
            tasks=tuple(pending.tasks),
            attempts=tuple(pending.attempts),
            metadata=tuple(pending.metadata),
            artifacts=tuple(pending.artifacts),
            log_lines=tuple(pending.log_lines),
            attempt_ends=tuple(pending.attempt_ends),
            task_statuses=tuple(pending.task_statuses),
            heartbeat=True,
            run_status=run_status,
        )
