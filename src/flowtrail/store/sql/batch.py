"""The batch write: many records of one run in one transaction, applied once per batch id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from flowtrail.errors import InvalidArgument
from flowtrail.model import (
    TRANSITIONS,
    AttemptEnd,
    Batch,
    BatchResult,
    NewAttempt,
    NewTask,
    Pathspec,
    Status,
    TaskStatusChange,
)
from flowtrail.store.sql import records, runs, tasks
from flowtrail.store.sql.dialects import insert_ignore
from flowtrail.store.sql.lookup import Keys, run_row
from flowtrail.store.sql.schema import runs as runs_table
from flowtrail.store.sql.schema import write_batches

__all__ = ["write_batch"]


def write_batch(conn: Connection, batch: Batch, now: datetime) -> BatchResult:
    """Apply ``batch`` unless its id is in the ledger; the caller commits or rolls back.

    The ledger row is inserted first: a concurrent writer of the same batch waits on its
    key and then finds it taken, so a batch is applied at most once.
    """
    keys = Keys.for_run(conn, batch.run)
    claimed = conn.execute(
        insert_ignore(conn, write_batches)
        .values(batch_id=batch.batch_id, run_pk=keys.run_pk, applied_at=now, records=batch.size)
        .returning(write_batches.c.batch_id)
    ).scalar_one_or_none()
    if claimed is None:
        recorded = conn.execute(
            sa.select(write_batches.c.run_pk, write_batches.c.records).where(
                write_batches.c.batch_id == batch.batch_id
            )
        ).one()
        if recorded.run_pk != keys.run_pk:
            raise InvalidArgument(
                f"batch id {batch.batch_id!r} was used already for another run; batch ids "
                f"must be unique (a uuid4 is)",
                details={"batch_id": batch.batch_id},
            )
        return BatchResult(batch.batch_id, applied=False, records=int(recorded.records))
    # The run's row is locked before any task or attempt row, as the read that records a
    # silent run lost locks them (runs.reap_lost): on PostgreSQL the two would otherwise
    # wait on each other. Applied first or last, the heartbeat is in the same transaction.
    if batch.heartbeat:
        _heartbeat(conn, keys, batch.run, now)
    elif batch.run_status is not None:
        run_row(conn, batch.run, for_update=True)
    final, task_statuses = _fold_statuses(batch.tasks, batch.task_statuses, now)
    ends, attempt_ends = _fold_ends(batch.attempts, batch.attempt_ends)
    tasks.create_steps(keys, batch.steps, now)
    tasks.create_tasks(keys, batch.tasks, now, final)
    tasks.start_attempts(keys, batch.attempts, now, ends)
    records.record_metadata(keys, batch.metadata, now)
    records.record_artifacts(keys, batch.artifacts, now)
    records.append_log_lines(keys, batch.log_lines, now)
    tasks.end_attempts(keys, attempt_ends, now)
    tasks.set_task_statuses(keys, task_statuses, now)
    if batch.run_status is not None:
        runs.set_run_status(conn, batch.run, batch.run_status, now)
    return BatchResult(batch.batch_id, applied=True, records=batch.size)


# A batch usually creates tasks and attempts, and ends them: each task and attempt is then
# inserted with the status its later changes give it, instead of inserted and updated (on
# PostgreSQL, a read FOR UPDATE and an update of each table saved). The changes are checked
# against the transition table here, in order, as the updates would check them; the first
# change of a task or attempt that the table refuses, and every later one of it, is left
# to the update, which raises the same error after the rest of the batch, as before.


def _fold_statuses(
    new: Sequence[NewTask], changes: Sequence[TaskStatusChange], now: datetime
) -> tuple[dict[Pathspec, tuple[Status, datetime | None]], list[TaskStatusChange]]:
    """The status and finish time of each task created in the batch after its status
    changes in the batch, and the changes left to apply to the stored rows."""
    if not new or not changes:
        return {}, list(changes)
    born = {t.pathspec: t for t in new}
    final: dict[Pathspec, tuple[Status, datetime | None]] = {}
    rest: list[TaskStatusChange] = []
    refused: set[Pathspec] = set()
    for change in changes:
        task = born.get(change.pathspec)
        if task is None or change.pathspec in refused:
            rest.append(change)
            continue
        status = final[change.pathspec][0] if change.pathspec in final else task.status
        if status == change.status:
            continue
        if change.status not in TRANSITIONS[status]:
            refused.add(change.pathspec)
            rest.append(change)
            continue
        at = change.at or now
        final[change.pathspec] = (change.status, at if change.status.finished else None)
    return final, rest


def _fold_ends(
    new: Sequence[NewAttempt], ends: Sequence[AttemptEnd]
) -> tuple[dict[tuple[Pathspec, int], AttemptEnd], list[AttemptEnd]]:
    """The end of each attempt started in the batch that records it (the last one that
    changes its status), and the ends left to apply to the stored rows."""
    if not new or not ends:
        return {}, list(ends)
    born = {(a.pathspec, a.number) for a in new}
    final: dict[tuple[Pathspec, int], AttemptEnd] = {}
    rest: list[AttemptEnd] = []
    refused: set[tuple[Pathspec, int]] = set()
    for end in ends:
        key = (end.pathspec, end.number)
        if key not in born or key in refused:
            rest.append(end)
            continue
        status = final[key].status if key in final else Status.RUNNING
        if status == end.status:
            continue
        if end.status not in TRANSITIONS[status]:
            refused.add(key)
            rest.append(end)
            continue
        final[key] = end
    return final, rest


def _heartbeat(conn: Connection, keys: Keys, run: Pathspec, now: datetime) -> None:
    """The run's heartbeat, moved forward to ``now``: one update of the row the batch
    resolved, where :func:`runs.heartbeat` reads the run's record twice to return it."""
    moved = conn.execute(
        sa.update(runs_table)
        .where(
            runs_table.c.pk == keys.run_pk,
            runs_table.c.status == str(Status.RUNNING),
            runs_table.c.heartbeat_at < now,
        )
        .values(heartbeat_at=now)
    ).rowcount
    if not moved:
        # Not running (refused there, with the message), or beaten to a later heartbeat.
        runs.heartbeat(conn, run, now)
