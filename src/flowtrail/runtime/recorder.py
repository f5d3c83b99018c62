"""The scheduler's writer: it gathers records as things happen and writes them in idempotent
batches, a few times a second and at every turn of the run, never only at the end."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from flowtrail.errors import StoreUnavailable
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
        retry_for: Seconds to keep retrying a store that is unavailable before giving up.
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
        """Whether it is time to write (records waited long enough, or a heartbeat is due)."""
        now = time.monotonic()
        if self.pending.size() >= self.max_records:
            return True
        if self._oldest is not None and now - self._oldest >= self.interval:
            return True
        return now - self._last_write >= self.heartbeat_every

    def flush(self, run_status: Status | None = None) -> None:
        """Write everything gathered (with a heartbeat, and the run's status if given).

        A store that is unavailable is retried with backoff for ``retry_for`` seconds; the
        batch id stays the same, so a batch that was applied before the error is not applied
        twice.

        Raises:
            StoreUnavailable: the store stayed away longer than ``retry_for``.
        """
        pending, self.pending = self.pending, _Pending()
        batch = Batch(
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
        deadline = time.monotonic() + self.retry_for
        delay = 0.05
        while True:
            try:
                self.store.write_batch(batch)
                break
            except StoreUnavailable:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        self.batches += 1
        self._oldest = None
        self._last_write = time.monotonic()
