"""The SQL metadata store: schema, migrations, dialect differences and the store itself."""

from __future__ import annotations

from flowtrail.store.sql.dialects import create_engine
from flowtrail.store.sql.migrate import MigrateMode, current_revision, head_revision, upgrade
from flowtrail.store.sql.store import SqlStore

__all__ = [
    "MigrateMode",
    "SqlStore",
    "create_engine",
    "current_revision",
    "head_revision",
    "upgrade",
]
