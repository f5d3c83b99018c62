"""The first schema: flows, runs, tags, steps, tasks, attempts, metadata entries, artifact
index rows, log lines and the ledger of applied write batches.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Integer keys are INTEGER on SQLite (an alias of the rowid) and BIGINT elsewhere.
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Times are epoch milliseconds.
MS = sa.BigInteger()
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", MS, nullable=False),
        sa.Column("last_run_at", MS, nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("last_run_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_flows")),
        sa.UniqueConstraint("name", name=op.f("uq_flows_name")),
    )
    op.create_table(
        "runs",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("flow_pk", PK, nullable=False),
        sa.Column("run_id", sa.String(length=255), nullable=False),
        sa.Column("run_number", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", MS, nullable=False),
        sa.Column("finished_at", MS, nullable=True),
        sa.Column("heartbeat_at", MS, nullable=False),
        sa.Column("heartbeat_timeout_ms", sa.BigInteger(), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=True),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("origin_run_id", sa.String(length=255), nullable=True),
        sa.Column("trigger", JSON, nullable=False),
        sa.Column("code_package", JSON, nullable=True),
        sa.Column("flow_metadata", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_pk"], ["flows.pk"], name=op.f("fk_runs_flow_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_runs")),
        sa.UniqueConstraint("flow_pk", "run_id", name=op.f("uq_runs_flow_pk_run_id")),
    )
    op.create_index(op.f("ix_runs_flow_pk_pk"), "runs", ["flow_pk", "pk"], unique=False)
    op.create_index(
        op.f("ix_runs_flow_pk_status_pk"), "runs", ["flow_pk", "status", "pk"], unique=False
    )
    op.create_index(op.f("ix_runs_status_pk"), "runs", ["status", "pk"], unique=False)
    op.create_table(
        "run_tags",
        sa.Column("run_pk", PK, nullable=False),
        sa.Column("tag", sa.String(length=500), nullable=False),
        sa.Column("is_system", sa.Boolean(), nullable=False),
        sa.Column("flow_pk", PK, nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_pk"], ["flows.pk"], name=op.f("fk_run_tags_flow_pk"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name=op.f("fk_run_tags_run_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_pk", "tag", name=op.f("pk_run_tags")),
    )
    op.create_index(
        op.f("ix_run_tags_flow_pk_tag_run_pk"),
        "run_tags",
        ["flow_pk", "tag", "run_pk"],
        unique=False,
    )
    op.create_index(op.f("ix_run_tags_tag_run_pk"), "run_tags", ["tag", "run_pk"], unique=False)
    op.create_table(
        "steps",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("run_pk", PK, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("next_steps", JSON, nullable=False),
        sa.Column("created_at", MS, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name=op.f("fk_steps_run_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_steps")),
        sa.UniqueConstraint("run_pk", "name", name=op.f("uq_steps_run_pk_name")),
    )
    op.create_table(
        "write_batches",
        sa.Column("batch_id", sa.String(length=128), nullable=False),
        sa.Column("run_pk", PK, nullable=False),
        sa.Column("applied_at", MS, nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name=op.f("fk_write_batches_run_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_write_batches")),
    )
    op.create_index(op.f("ix_write_batches_run_pk"), "write_batches", ["run_pk"], unique=False)
    op.create_table(
        "tasks",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("run_pk", PK, nullable=False),
        sa.Column("step_pk", PK, nullable=False),
        sa.Column("task_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", MS, nullable=False),
        sa.Column("finished_at", MS, nullable=True),
        sa.Column("foreach_stack", JSON, nullable=False),
        sa.Column("parent_tasks", JSON, nullable=False),
        sa.Column("origin_pathspec", sa.String(length=1024), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name=op.f("fk_tasks_run_pk"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["step_pk"], ["steps.pk"], name=op.f("fk_tasks_step_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_tasks")),
        sa.UniqueConstraint("run_pk", "task_id", name=op.f("uq_tasks_run_pk_task_id")),
    )
    op.create_index(op.f("ix_tasks_step_pk_pk"), "tasks", ["step_pk", "pk"], unique=False)
    op.create_table(
        "artifacts",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("task_pk", PK, nullable=False),
        sa.Column("run_pk", PK, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("python_type", sa.String(length=512), nullable=False),
        sa.Column("encoding", sa.String(length=32), nullable=False),
        sa.Column("created_at", MS, nullable=False),
        sa.Column("value_type", sa.String(length=8), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name=op.f("fk_artifacts_run_pk"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_pk"], ["tasks.pk"], name=op.f("fk_artifacts_task_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_artifacts")),
        sa.UniqueConstraint(
            "task_pk", "name", "attempt", name=op.f("uq_artifacts_task_pk_name_attempt")
        ),
    )
    op.create_index(op.f("ix_artifacts_run_pk"), "artifacts", ["run_pk"], unique=False)
    op.create_table(
        "attempts",
        sa.Column("task_pk", PK, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", MS, nullable=False),
        sa.Column("finished_at", MS, nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.BigInteger(), nullable=True),
        sa.Column("exception", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["task_pk"], ["tasks.pk"], name=op.f("fk_attempts_task_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_pk", "number", name=op.f("pk_attempts")),
    )
    op.create_table(
        "log_lines",
        sa.Column("task_pk", PK, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=8), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", MS, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_pk"], ["tasks.pk"], name=op.f("fk_log_lines_task_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_pk", "attempt", "stream", "seq", name=op.f("pk_log_lines")),
    )
    op.create_table(
        "metadata_entries",
        sa.Column("pk", PK, autoincrement=True, nullable=False),
        sa.Column("run_pk", PK, nullable=False),
        sa.Column("task_pk", PK, nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("field_name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("value_text", sa.Text(), nullable=False),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.Column("created_at", MS, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name=op.f("fk_metadata_entries_run_pk"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_pk"], ["tasks.pk"], name=op.f("fk_metadata_entries_task_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_metadata_entries")),
    )
    op.create_index(
        op.f("ix_metadata_entries_run_pk_task_pk_pk"),
        "metadata_entries",
        ["run_pk", "task_pk", "pk"],
        unique=False,
    )
    op.create_index(
        op.f("ix_metadata_entries_task_pk"), "metadata_entries", ["task_pk"], unique=False
    )
    op.create_table(
        "task_edges",
        sa.Column("run_pk", PK, nullable=False),
        sa.Column("parent_task_id", sa.String(length=255), nullable=False),
        sa.Column("child_pk", PK, nullable=False),
        sa.ForeignKeyConstraint(
            ["child_pk"], ["tasks.pk"], name=op.f("fk_task_edges_child_pk"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name=op.f("fk_task_edges_run_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_pk", "parent_task_id", "child_pk", name=op.f("pk_task_edges")),
    )


def downgrade() -> None:
    op.drop_table("task_edges")
    op.drop_index(op.f("ix_metadata_entries_task_pk"), table_name="metadata_entries")
    op.drop_index(op.f("ix_metadata_entries_run_pk_task_pk_pk"), table_name="metadata_entries")
    op.drop_table("metadata_entries")
    op.drop_table("log_lines")
    op.drop_table("attempts")
    op.drop_index(op.f("ix_artifacts_run_pk"), table_name="artifacts")
    op.drop_table("artifacts")
    op.drop_index(op.f("ix_tasks_step_pk_pk"), table_name="tasks")
    op.drop_table("tasks")
    op.drop_index(op.f("ix_write_batches_run_pk"), table_name="write_batches")
    op.drop_table("write_batches")
    op.drop_table("steps")
    op.drop_index(op.f("ix_run_tags_tag_run_pk"), table_name="run_tags")
    op.drop_index(op.f("ix_run_tags_flow_pk_tag_run_pk"), table_name="run_tags")
    op.drop_table("run_tags")
    op.drop_index(op.f("ix_runs_status_pk"), table_name="runs")
    op.drop_index(op.f("ix_runs_flow_pk_status_pk"), table_name="runs")
    op.drop_index(op.f("ix_runs_flow_pk_pk"), table_name="runs")
    op.drop_table("runs")
    op.drop_table("flows")
