"""Schema migrations: one Alembic history (``migrations/``) for SQLite and PostgreSQL.

:func:`upgrade` applies pending revisions under a lock (SQLite's write lock, a PostgreSQL
advisory lock), so many processes opening a new database at once migrate it exactly once.
:func:`ensure_schema` is what opening a store calls: it upgrades, or refuses with the
command that would.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from flowtrail.errors import InvalidArgument, SchemaMismatch
from flowtrail.store.sql.dialects import WRITE_OPTION, is_sqlite

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest revision of the schema. Opening a database that is at it needs one query and no
#: Alembic import (Alembic costs ~90 ms to import); a test checks it against Alembic's history.
HEAD_REVISION = "0006"

__all__ = [
    "MigrateMode",
    "current_revision",
    "downgrade",
    "ensure_schema",
    "head_revision",
    "is_known_revision",
    "upgrade",
]

_MIGRATIONS = Path(__file__).with_name("migrations")
# An arbitrary, fixed key: every flowtrail process migrating one PostgreSQL database
# takes the same advisory lock.
_PG_LOCK_KEY = 0x666C6F77


class MigrateMode(StrEnum):
    """What opening a store does with a database whose schema is not current.

    ``auto``: upgrade SQLite files and empty databases; refuse an existing PostgreSQL
    database that is behind (a shared database is upgraded on purpose, with
    ``flowtrail db upgrade``). ``upgrade``: always upgrade. ``check``: never change the
    schema; refuse any database that is not current.
    """

    AUTO = "auto"
    UPGRADE = "upgrade"
    CHECK = "check"

    @classmethod
    def _missing_(cls, value: object) -> MigrateMode:
        raise InvalidArgument(
            f"migrate must be one of {', '.join(m.value for m in cls)}, got {value!r}"
        )


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this flowtrail knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision a database is at, or ``None`` for a database flowtrail never touched."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def is_known_revision(revision: str) -> bool:
    """True when ``revision`` is in this flowtrail's history (False: a newer flowtrail wrote it)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    return any(rev.revision == revision for rev in script.walk_revisions())


def _locked(engine: Engine) -> Connection:
    conn = engine.connect().execution_options(**{WRITE_OPTION: True})
    conn.begin()
    if not is_sqlite(conn):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    return conn


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade a database to ``revision``; returns (revision before, revision after)."""
    with _locked(engine) as conn:
        before = current_revision(conn)
        if before is not None and not is_known_revision(before):
            raise _newer(before, engine)
        from alembic import command

        command.upgrade(_config(conn), revision)
        after = current_revision(conn)
        conn.commit()
    assert after is not None
    return before, after


def downgrade(engine: Engine, revision: str) -> tuple[str | None, str | None]:
    """Downgrade a database to ``revision`` (``"base"`` removes every flowtrail table)."""
    with _locked(engine) as conn:
        before = current_revision(conn)
        from alembic import command

        command.downgrade(_config(conn), revision)
        after = current_revision(conn)
        conn.commit()
    return before, after


def ensure_schema(engine: Engine, mode: MigrateMode, display_url: str) -> None:
    """Bring a database to the current schema as ``mode`` allows, or refuse.

    Raises:
        SchemaMismatch: the database is behind and ``mode`` forbids upgrading it (the message
            gives the command to run), or it was written by a newer flowtrail.
    """
    with engine.connect() as conn:
        if sa.inspect(conn).has_table("alembic_version"):
            stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
            if list(stamped) == [HEAD_REVISION]:
                return  # the common case: up to date
    head = head_revision()
    with engine.connect() as conn:
        current = current_revision(conn)
        has_tables = bool(sa.inspect(conn).get_table_names())
    if current == head:
        return
    if current is not None and not is_known_revision(current):
        raise _newer(current, engine, display_url)
    empty = current is None and not has_tables
    if mode is MigrateMode.UPGRADE or (mode is MigrateMode.AUTO and (is_sqlite(engine) or empty)):
        upgrade(engine)
        return
    raise SchemaMismatch(
        f"the database at {display_url} is at schema revision {current or 'none'}, this "
        f"flowtrail needs {head}; upgrade it with: flowtrail db upgrade --db '{display_url}'",
        details={"current": current, "head": head},
    )


def _newer(revision: str, engine: Engine, display_url: str | None = None) -> SchemaMismatch:
    where = display_url or engine.url.render_as_string(hide_password=True)
    return SchemaMismatch(
        f"the database at {where} is at schema revision {revision}, which this flowtrail "
        f"does not know: it was written by a newer flowtrail. Upgrade flowtrail "
        f"(pip install -U flowtrail) to use it.",
        details={"current": revision, "head": head_revision()},
    )
