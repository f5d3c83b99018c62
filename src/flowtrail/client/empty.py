"""The store that answers reads of a local home where nothing was recorded.

Reading must not create a history: ``Flowtrail()`` in a folder without ``.flowtrail`` lists
nothing and ``Flow('F')`` raises ``NotFound`` saying nothing was recorded there, and the folder
is still absent afterwards. The answers come from an empty in-memory SQLite store (the same SQL
as every other read); its ``get_*`` errors name the home. Imported only when needed: it loads
the SQL store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowtrail.errors import NotFound
from flowtrail.model import Pathspec
from flowtrail.store import SqlStore
from flowtrail.store.sql import create_engine
from flowtrail.store.sql.migrate import MigrateMode, ensure_schema

__all__ = ["NothingRecorded"]


class NothingRecorded(SqlStore):
    """An empty in-memory store standing for the home ``home``, where nothing was recorded."""

    def __init__(self, home: Path) -> None:
        engine = create_engine("sqlite://")
        ensure_schema(engine, MigrateMode.AUTO, "sqlite://")
        super().__init__(engine)
        self._home = home

    def _missing(self, exc: NotFound) -> NotFound:
        why = "it holds no history" if self._home.is_dir() else "it does not exist"
        return NotFound(
            f"{exc.message}: nothing has been recorded in {self._home} ({why}); "
            f"run a flow there, or choose another provider with metadata('local@PATH')",
            details={**exc.details, "home": str(self._home)},
        )

    def get_flow(self, name: str) -> Any:
        try:
            return super().get_flow(name)
        except NotFound as exc:
            raise self._missing(exc) from None

    def get_run(self, run: Pathspec) -> Any:
        try:
            return super().get_run(run)
        except NotFound as exc:
            raise self._missing(exc) from None
