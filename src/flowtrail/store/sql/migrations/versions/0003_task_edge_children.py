"""An index on ``task_edges.child_pk``: deleting a run (``delete_run``, a workflow's
``delete``) cascades from each of its tasks to the edges naming it as the child, and without
this index each of those deletes reads the whole edge table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_edges_child_pk", "task_edges", ["child_pk"])


def downgrade() -> None:
    op.drop_index("ix_task_edges_child_pk", table_name="task_edges")
