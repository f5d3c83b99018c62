"""The one schema of the SQL metadata store (SQLite and PostgreSQL alike).

Surrogate integer keys (``pk``) join the tables; the natural keys (flow name, run id, step
name, task id) are unique where the model says so. Times are epoch milliseconds
(:class:`EpochMs` converts). Every listing or lookup the store issues is served by an
index declared here; ``tests/test_index_plans.py`` checks the plans at 100,000 runs.

The Alembic history in ``migrations/`` creates exactly this schema; a test compares them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from flowtrail.model.time import from_epoch_ms, to_epoch_ms

__all__ = [
    "ALL_RUNS",
    "JSON",
    "SEARCHABLE_METADATA",
    "EpochMs",
    "artifacts",
    "attempts",
    "flows",
    "log_lines",
    "metadata",
    "metadata_entries",
    "run_params",
    "run_tags",
    "runs",
    "steps",
    "tag_counts",
    "task_edges",
    "tasks",
    "write_batches",
]


class EpochMs(sa.TypeDecorator[datetime]):
    """An aware UTC ``datetime`` in Python, a 64-bit integer of epoch milliseconds in SQL."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else to_epoch_ms(value)

    def process_literal_param(self, value: datetime | None, dialect: Dialect) -> str:
        return "NULL" if value is None else str(to_epoch_ms(value))

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_epoch_ms(int(value))


#: JSON text on SQLite, JSONB on PostgreSQL.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_NAME = sa.String(255)
#: Text that orders by code point on every database (PostgreSQL's "C" collation; SQLite
#: compares bytes anyway): prefix ranges and listings ordered by it agree everywhere.
_TAG = sa.String(500).with_variant(postgresql.VARCHAR(500, collation="C"), "postgresql")
_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY = rowid


def _partial(condition: str) -> dict[str, Any]:
    """The options of a partial index (on the rows where ``condition`` holds), for both
    databases. SQLite uses one only for a query that repeats the condition (its constants
    written, not bound) or, for ``x IS NOT NULL``, that compares ``x``."""
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


#: The metadata a search compares: a run's own entries and the user entries of its tasks
#: (the system entries of tasks, most of the table, are left out of the search indexes).
SEARCHABLE_METADATA = "task_pk IS NULL OR type = 'user'"


def _fk(column: str, target: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(column, _PK, sa.ForeignKey(target, ondelete="CASCADE"), nullable=nullable)


flows = sa.Table(
    "flows",
    metadata,
    sa.Column("pk", _PK, primary_key=True, autoincrement=True),
    sa.Column("name", _NAME, nullable=False, unique=True),
    sa.Column("created_at", EpochMs(), nullable=False),
    sa.Column("last_run_at", EpochMs(), nullable=True),
    sa.Column("metadata", JSON, nullable=False),
    # The last integer run id given out; advanced inside the run-creating transaction.
    sa.Column("last_run_number", sa.BigInteger(), nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("pk", _PK, primary_key=True, autoincrement=True),
    _fk("flow_pk", "flows.pk"),
    sa.Column("run_id", _NAME, nullable=False),
    sa.Column("run_number", sa.BigInteger(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", EpochMs(), nullable=False),
    sa.Column("finished_at", EpochMs(), nullable=True),
    sa.Column("heartbeat_at", EpochMs(), nullable=False),
    sa.Column("heartbeat_timeout_ms", sa.BigInteger(), nullable=False),
    sa.Column("user_name", _NAME, nullable=True),
    sa.Column("parameters", JSON, nullable=False),
    sa.Column("origin_run_id", _NAME, nullable=True),
    sa.Column("trigger", JSON, nullable=False),
    sa.Column("code_package", JSON, nullable=True),
    sa.Column("flow_metadata", JSON, nullable=False),
    # The run's tags as its record shows them, kept with run_tags in the same transactions
    # (see codec.encode_tag_list): a page of runs reads them in its rows, where gathering
    # them from run_tags was two thirds of SQLite's work. run_tags is what searches read.
    sa.Column("tag_list", sa.Text(), nullable=False, server_default=sa.text("''")),
    sa.UniqueConstraint("flow_pk", "run_id"),
    # newest first within a flow: latest_run, iteration, pagination
    sa.Index(None, "flow_pk", "pk"),
    # latest successful run, runs by status within a flow
    sa.Index(None, "flow_pk", "status", "pk"),
    # runs by status across flows (and the lost-run sweep over running runs)
    sa.Index(None, "status", "pk"),
    # searches ordered by creation time, within a flow and across flows
    sa.Index(None, "flow_pk", "created_at", "pk"),
    sa.Index(None, "created_at", "pk"),
    # a user's runs newest first, within a flow and across flows; the creation time rides
    # along so that a search on user and a time window (with a tag) is read in indexes
    # alone, and only the runs of the page are read from the table
    sa.Index(None, "flow_pk", "user_name", "pk", "created_at"),
    sa.Index(None, "user_name", "pk", "created_at"),
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    _fk("run_pk", "runs.pk"),
    sa.Column("tag", _TAG, nullable=False),
    sa.Column("is_system", sa.Boolean(), nullable=False),
    # Denormalised from runs so tag listings of one flow need no join.
    _fk("flow_pk", "flows.pk"),
    sa.PrimaryKeyConstraint("run_pk", "tag"),
    # runs carrying a tag, newest first: across flows
    sa.Index(None, "tag", "run_pk"),
    # runs of a flow carrying a tag, newest first; and the tags of a flow with counts
    sa.Index(None, "flow_pk", "tag", "run_pk"),
)

#: The namespace of a ``tag_counts`` row that counts every run of its flow.
ALL_RUNS = ""

# The number of runs of each flow carrying each tag, kept in the transactions that write
# ``run_tags`` (``runs.create_run``, ``add_tags``, ``remove_tags``, ``delete_run``), so that
# a tag listing reads a page of counts instead of counting every tag row of every run.
# ``namespace`` is ``ALL_RUNS`` for all runs, or a system tag (``user:alice``): the runs
# carrying that system tag too. System tags are set when a run is created and never change,
# so a run's namespaces are fixed. A row exists while its count is above zero.
tag_counts = sa.Table(
    "tag_counts",
    metadata,
    _fk("flow_pk", "flows.pk"),
    sa.Column("namespace", _TAG, nullable=False),
    sa.Column("tag", _TAG, nullable=False),
    sa.Column("runs", sa.BigInteger(), nullable=False),
    # the tags of a flow (in a namespace), in order
    sa.PrimaryKeyConstraint("flow_pk", "namespace", "tag"),
    # the tags of all flows (in a namespace), in order
    sa.Index(None, "namespace", "tag", "flow_pk"),
)

# The top-level scalar parameters of each run (str, int, float, bool), one row each, kept
# for search beside ``runs.parameters``: a condition or an order on a parameter then walks
# an index instead of reading every run's JSON.
run_params = sa.Table(
    "run_params",
    metadata,
    _fk("run_pk", "runs.pk"),
    sa.Column("name", _NAME, nullable=False),
    # Denormalised from runs so an order on a parameter within one flow needs no join.
    _fk("flow_pk", "flows.pk"),
    sa.Column("value_type", sa.String(8), nullable=False),
    sa.Column("value_text", sa.Text(), nullable=False),
    sa.Column("value_num", sa.Float(), nullable=True),
    # a parameter of a run (conditions probe it)
    sa.PrimaryKeyConstraint("run_pk", "name"),
    # runs by a numeric parameter, across flows and within a flow
    sa.Index(None, "name", "value_num", "run_pk", **_partial("value_num IS NOT NULL")),
    sa.Index(None, "flow_pk", "name", "value_num", "run_pk", **_partial("value_num IS NOT NULL")),
)

steps = sa.Table(
    "steps",
    metadata,
    sa.Column("pk", _PK, primary_key=True, autoincrement=True),
    _fk("run_pk", "runs.pk"),
    sa.Column("name", _NAME, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("next_steps", JSON, nullable=False),
    sa.Column("created_at", EpochMs(), nullable=False),
    sa.UniqueConstraint("run_pk", "name"),
    # the steps of a run, in order
    sa.Index(None, "run_pk", "pk"),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("pk", _PK, primary_key=True, autoincrement=True),
    _fk("run_pk", "runs.pk"),
    _fk("step_pk", "steps.pk"),
    sa.Column("task_id", _NAME, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", EpochMs(), nullable=False),
    sa.Column("finished_at", EpochMs(), nullable=True),
    sa.Column("foreach_stack", JSON, nullable=False),
    sa.Column("parent_tasks", JSON, nullable=False),
    sa.Column("origin_pathspec", sa.String(1024), nullable=True),
    sa.UniqueConstraint("run_pk", "task_id"),
    # the tasks of a step, and of a run, in order
    sa.Index(None, "step_pk", "pk"),
    sa.Index(None, "run_pk", "pk"),
)

task_edges = sa.Table(
    "task_edges",
    metadata,
    _fk("run_pk", "runs.pk"),
    sa.Column("parent_task_id", _NAME, nullable=False),
    _fk("child_pk", "tasks.pk"),
    # the children of a task
    sa.PrimaryKeyConstraint("run_pk", "parent_task_id", "child_pk"),
    # the cascade from a deleted task to the edges naming it as the child
    sa.Index(None, "child_pk"),
)

attempts = sa.Table(
    "attempts",
    metadata,
    _fk("task_pk", "tasks.pk"),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", EpochMs(), nullable=False),
    sa.Column("finished_at", EpochMs(), nullable=True),
    sa.Column("host", _NAME, nullable=True),
    sa.Column("pid", sa.BigInteger(), nullable=True),
    sa.Column("exception", JSON, nullable=True),
    sa.PrimaryKeyConstraint("task_pk", "number"),
)

metadata_entries = sa.Table(
    "metadata_entries",
    metadata,
    sa.Column("pk", _PK, primary_key=True, autoincrement=True),
    _fk("run_pk", "runs.pk"),
    _fk("task_pk", "tasks.pk", nullable=True),
    sa.Column("attempt", sa.Integer(), nullable=True),
    sa.Column("field_name", _NAME, nullable=False),
    sa.Column("type", _NAME, nullable=False),
    sa.Column("value_type", sa.String(16), nullable=False),
    sa.Column("value_text", sa.Text(), nullable=False),
    sa.Column("value_num", sa.Float(), nullable=True),
    sa.Column("created_at", EpochMs(), nullable=False),
    # the metadata of a task (run_pk, task_pk) or of a run (run_pk, NULL), in order
    sa.Index(None, "run_pk", "task_pk", "pk"),
    # tasks are deleted with their run; this serves the cascade from a task too
    sa.Index(None, "task_pk"),
    # search: does a run have a value of this field (probe), which runs have a number
    # (drive); only the entries a search compares
    sa.Index(None, "run_pk", "field_name", "value_num", **_partial(SEARCHABLE_METADATA)),
    sa.Index(
        None,
        "field_name",
        "value_num",
        "run_pk",
        **_partial(f"value_num IS NOT NULL AND ({SEARCHABLE_METADATA})"),
    ),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("pk", _PK, primary_key=True, autoincrement=True),
    _fk("task_pk", "tasks.pk"),
    _fk("run_pk", "runs.pk"),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("name", _NAME, nullable=False),
    sa.Column("sha", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("python_type", sa.String(512), nullable=False),
    sa.Column("encoding", sa.String(32), nullable=False),
    sa.Column("created_at", EpochMs(), nullable=False),
    # scalar values, kept for search: the type, the text form, the number (int/float/bool)
    sa.Column("value_type", sa.String(8), nullable=True),
    sa.Column("value_text", sa.Text(), nullable=True),
    sa.Column("value_num", sa.Float(), nullable=True),
    # the artifacts of a task by name, and the latest attempt of one name
    sa.UniqueConstraint("task_pk", "name", "attempt"),
    # search: does a run have a value of this artifact (probe; also the run cascade),
    # which runs have a number (drive)
    sa.Index(None, "run_pk", "name", "value_num"),
    sa.Index(None, "name", "value_num", "run_pk", **_partial("value_num IS NOT NULL")),
)

log_lines = sa.Table(
    "log_lines",
    metadata,
    _fk("task_pk", "tasks.pk"),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("stream", sa.String(8), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("created_at", EpochMs(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    # one stream of one attempt, in order, from an offset
    sa.PrimaryKeyConstraint("task_pk", "attempt", "stream", "seq"),
)

write_batches = sa.Table(
    "write_batches",
    metadata,
    sa.Column("batch_id", sa.String(128), primary_key=True),
    _fk("run_pk", "runs.pk"),
    sa.Column("applied_at", EpochMs(), nullable=False),
    sa.Column("records", sa.Integer(), nullable=False),
    sa.Index(None, "run_pk"),
)
