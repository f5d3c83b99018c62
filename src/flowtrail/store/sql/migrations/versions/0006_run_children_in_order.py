"""Indexes on ``tasks (run_pk, pk)`` and ``steps (run_pk, pk)``: a run's tasks are listed
oldest first and its steps newest first, by key. With only the ``(run_pk, task_id)`` and
``(run_pk, name)`` keys, each page of a run's tasks sorted all of them (a resume, or a
workflow's history, reads every task of a run a page at a time).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_run_pk_pk", "tasks", ["run_pk", "pk"])
    op.create_index("ix_steps_run_pk_pk", "steps", ["run_pk", "pk"])


def downgrade() -> None:
    op.drop_index("ix_steps_run_pk_pk", table_name="steps")
    op.drop_index("ix_tasks_run_pk_pk", table_name="tasks")
