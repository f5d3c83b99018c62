"""Run search: a table of each run's scalar parameters, the indexes that conditions and orders
on parameters, metadata and artifact values walk, runs by creation time, and tags that order
by code point on PostgreSQL (as on SQLite) so that prefix ranges select what they should.

``run_params`` is filled from ``runs.parameters`` of the runs recorded before.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CHUNK = 5000
_MAX_NAME = 255
# The metadata a search compares: the run's own entries, and the user entries of its tasks.
_SEARCHABLE_METADATA = "task_pk IS NULL OR type = 'user'"


def _partial(condition: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.create_table(
        "run_params",
        sa.Column("run_pk", PK, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("flow_pk", PK, nullable=False),
        sa.Column("value_type", sa.String(length=8), nullable=False),
        sa.Column("value_text", sa.Text(), nullable=False),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["flow_pk"], ["flows.pk"], name=op.f("fk_run_params_flow_pk"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name=op.f("fk_run_params_run_pk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_pk", "name", name=op.f("pk_run_params")),
    )
    _backfill_run_params()
    op.create_index(
        op.f("ix_run_params_name_value_num_run_pk"),
        "run_params",
        ["name", "value_num", "run_pk"],
        unique=False,
        **_partial("value_num IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_run_params_flow_pk_name_value_num_run_pk"),
        "run_params",
        ["flow_pk", "name", "value_num", "run_pk"],
        unique=False,
        **_partial("value_num IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_runs_flow_pk_created_at_pk"), "runs", ["flow_pk", "created_at", "pk"], unique=False
    )
    op.create_index(op.f("ix_runs_created_at_pk"), "runs", ["created_at", "pk"], unique=False)
    op.create_index(
        op.f("ix_metadata_entries_run_pk_field_name_value_num"),
        "metadata_entries",
        ["run_pk", "field_name", "value_num"],
        unique=False,
        **_partial(_SEARCHABLE_METADATA),
    )
    op.create_index(
        op.f("ix_metadata_entries_field_name_value_num_run_pk"),
        "metadata_entries",
        ["field_name", "value_num", "run_pk"],
        unique=False,
        **_partial(f"value_num IS NOT NULL AND ({_SEARCHABLE_METADATA})"),
    )
    # (run_pk, name, value_num) serves everything (run_pk) did.
    op.drop_index(op.f("ix_artifacts_run_pk"), table_name="artifacts")
    op.create_index(
        op.f("ix_artifacts_run_pk_name_value_num"),
        "artifacts",
        ["run_pk", "name", "value_num"],
        unique=False,
    )
    op.create_index(
        op.f("ix_artifacts_name_value_num_run_pk"),
        "artifacts",
        ["name", "value_num", "run_pk"],
        unique=False,
        **_partial("value_num IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "run_tags",
            "tag",
            existing_type=sa.String(length=500),
            type_=postgresql.VARCHAR(length=500, collation="C"),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "run_tags",
            "tag",
            existing_type=postgresql.VARCHAR(length=500, collation="C"),
            type_=sa.String(length=500),
            existing_nullable=False,
        )
    op.drop_index(op.f("ix_artifacts_name_value_num_run_pk"), table_name="artifacts")
    op.drop_index(op.f("ix_artifacts_run_pk_name_value_num"), table_name="artifacts")
    op.create_index(op.f("ix_artifacts_run_pk"), "artifacts", ["run_pk"], unique=False)
    op.drop_index(
        op.f("ix_metadata_entries_field_name_value_num_run_pk"), table_name="metadata_entries"
    )
    op.drop_index(
        op.f("ix_metadata_entries_run_pk_field_name_value_num"), table_name="metadata_entries"
    )
    op.drop_index(op.f("ix_runs_created_at_pk"), table_name="runs")
    op.drop_index(op.f("ix_runs_flow_pk_created_at_pk"), table_name="runs")
    op.drop_index(op.f("ix_run_params_flow_pk_name_value_num_run_pk"), table_name="run_params")
    op.drop_index(op.f("ix_run_params_name_value_num_run_pk"), table_name="run_params")
    op.drop_table("run_params")


def _backfill_run_params() -> None:
    runs = sa.table("runs", sa.column("pk"), sa.column("flow_pk"), sa.column("parameters"))
    params = sa.table(
        "run_params",
        sa.column("run_pk"),
        sa.column("name"),
        sa.column("flow_pk"),
        sa.column("value_type"),
        sa.column("value_text"),
        sa.column("value_num"),
    )
    bind = op.get_bind()
    for chunk in _runs_in_chunks(bind, runs):
        rows = [
            {"run_pk": pk, "name": name, "flow_pk": flow_pk, **columns}
            for pk, flow_pk, parameters in chunk
            for name, value in _decode(parameters).items()
            if len(name) <= _MAX_NAME and (columns := _scalar_columns(value)) is not None
        ]
        if rows:
            bind.execute(sa.insert(params), rows)


def _runs_in_chunks(bind: sa.Connection, runs: Any) -> Iterator[list[Any]]:
    after = None
    while True:
        stmt = sa.select(runs.c.pk, runs.c.flow_pk, runs.c.parameters).order_by(runs.c.pk)
        if after is not None:
            stmt = stmt.where(runs.c.pk > after)
        chunk = list(bind.execute(stmt.limit(_CHUNK)).all())
        if not chunk:
            return
        yield chunk
        after = chunk[-1][0]


def _decode(parameters: Any) -> dict[str, Any]:
    value = json.loads(parameters) if isinstance(parameters, str | bytes) else parameters
    return value if isinstance(value, dict) else {}


def _scalar_columns(value: Any) -> dict[str, Any] | None:
    """The same columns as ``codec.param_columns`` at this revision (kept here, so that this
    migration does what it did even when the code changes later)."""
    if isinstance(value, bool):
        return {"value_type": "bool", "value_text": str(value).lower(), "value_num": float(value)}
    if isinstance(value, int):
        try:
            number: float | None = float(value)
        except OverflowError:
            number = None
        return {"value_type": "int", "value_text": str(value), "value_num": number}
    if isinstance(value, float):
        return {"value_type": "float", "value_text": repr(value), "value_num": value}
    if isinstance(value, str):
        return {"value_type": "str", "value_text": value, "value_num": None}
    return None
