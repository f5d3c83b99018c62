"""Alembic environment of flowtrail: runs on the connection handed in by
:func:`flowtrail.store.sql.migrate.upgrade` (SQLite in batch mode, or PostgreSQL)."""

from __future__ import annotations

from alembic import context

from flowtrail.store.sql.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "flowtrail migrations run through `flowtrail db upgrade`, which supplies the connection"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
