"""The batch write: many records of one run in one transaction, applied once per batch id."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from flowtrail.errors import InvalidArgument
from flowtrail.model import Batch, BatchResult
from flowtrail.store.sql import records, runs, tasks
from flowtrail.store.sql.dialects import insert_ignore
from flowtrail.store.sql.lookup import Keys
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
    tasks.create_steps(keys, batch.steps, now)
    tasks.create_tasks(keys, batch.tasks, now)
    tasks.start_attempts(keys, batch.attempts, now)
    records.record_metadata(keys, batch.metadata, now)
    records.record_artifacts(keys, batch.artifacts, now)
    records.append_log_lines(keys, batch.log_lines, now)
    tasks.end_attempts(keys, batch.attempt_ends, now)
    tasks.set_task_statuses(keys, batch.task_statuses, now)
    if batch.heartbeat:
        runs.heartbeat(conn, batch.run, now)
    if batch.run_status is not None:
        runs.set_run_status(conn, batch.run, batch.run_status, now)
    return BatchResult(batch.batch_id, applied=True, records=batch.size)
