"""A run's tags ride in its row: ``runs.tag_list``.

A run's record carries its tags. They were gathered from ``run_tags`` for each run a read
returned (a subquery per run): two thirds of SQLite's work for a page of runs. ``tag_list``
holds them in the row, each tag prefixed ``s`` (system) or ``u`` (user) and joined by the
unit separator, written in the transactions that write ``run_tags``. ``run_tags`` stays the
searchable form (its indexes drive and probe tag searches).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Every run's tags, as the store writes them (the order within a list does not matter).
_BACKFILL = {
    "sqlite": """
UPDATE runs SET tag_list = coalesce((
    SELECT group_concat(CASE WHEN is_system THEN 's' ELSE 'u' END || tag, char(31))
    FROM run_tags WHERE run_tags.run_pk = runs.pk
), '')
""",
    "postgresql": """
UPDATE runs SET tag_list = coalesce((
    SELECT string_agg(CASE WHEN is_system THEN 's' ELSE 'u' END || tag, chr(31))
    FROM run_tags WHERE run_tags.run_pk = runs.pk
), '')
""",
}


def upgrade() -> None:
    op.add_column(
        "runs", sa.Column("tag_list", sa.Text(), nullable=False, server_default=sa.text("''"))
    )
    op.execute(_BACKFILL[op.get_bind().dialect.name])


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("tag_list")
