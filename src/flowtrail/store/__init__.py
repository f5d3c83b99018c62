"""The metadata store: one contract (:class:`MetadataStore`), the SQL implementation for
SQLite and PostgreSQL (:class:`SqlStore`), and :func:`open_store` to pick one by URL."""

from __future__ import annotations

from flowtrail.store.base import CURSOR_ARGUMENT, MetadataStore
from flowtrail.store.open import SCHEMES, open_store
from flowtrail.store.sql.migrate import MigrateMode
from flowtrail.store.sql.store import SqlStore

__all__ = ["CURSOR_ARGUMENT", "SCHEMES", "MetadataStore", "MigrateMode", "SqlStore", "open_store"]
