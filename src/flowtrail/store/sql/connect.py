"""From a database URL to a working engine, with every failure on the way a flowtrail error
that names the URL without its password. Used by ``open_store`` and ``flowtrail db``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from flowtrail.config.spec import mask_password
from flowtrail.errors import InvalidArgument, StoreUnavailable
from flowtrail.store.sql.dialects import create_engine

__all__ = ["Database", "first_line", "parse_database_url", "translate_driver_errors"]


@dataclass(frozen=True, slots=True)
class Database:
    """A parsed database URL and how to show it (password masked, in any form)."""

    url: URL
    display: str

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite file, or ``None`` for PostgreSQL and in-memory SQLite."""
        database = self.url.database
        if self.url.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
            return None
        if database is not None and database.startswith("file:"):
            return None
        return Path(database or "")

    def engine(self) -> Engine:
        """A new engine on this database, configured as flowtrail needs it.

        Raises:
            StoreUnavailable: the SQLite file's folder does not exist, or the driver is
                not installed (the message says what to install).
        """
        file = self.sqlite_file
        if file is not None and not file.resolve().parent.is_dir():
            raise StoreUnavailable(
                f"cannot open {self.display}: the folder {file.resolve().parent} does not exist",
                details={"url": self.display},
            )
        try:
            return create_engine(self.url)
        except ModuleNotFoundError as exc:
            raise StoreUnavailable(
                f"cannot open {self.display}: the driver {exc.name!r} is not installed; "
                f"install it with: pip install 'flowtrail[postgres]'"
            ) from None


def parse_database_url(text: str) -> Database:
    """Parse a ``sqlite://`` or ``postgresql[+psycopg]://`` URL (psycopg 3 is the driver).

    Raises:
        InvalidArgument: the URL is malformed (the message never shows its password).
    """
    try:
        url = make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise InvalidArgument(
            f"expected a database URL such as sqlite:///path/to/file.db or "
            f"postgresql+psycopg://user:password@host:5432/db, got {mask_password(text)!r}"
        ) from None
    if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
        url = url.set(drivername="postgresql+psycopg")
    return Database(url, mask_password(url.render_as_string(hide_password=False)))


@contextmanager
def translate_driver_errors(database: Database) -> Iterator[None]:
    """Turn driver errors raised inside the block into flowtrail errors naming the database.

    An unreachable server, a refused login, a file that is not a database or a missing
    privilege all mean the store cannot be used: ``StoreUnavailable``, with the reason.
    """
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        unreachable = isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
        raise StoreUnavailable(
            f"cannot {'reach' if unreachable else 'use'} the metadata store at "
            f"{database.display}: {first_line(exc)}",
            details={"url": database.display},
        ) from exc


def first_line(exc: BaseException) -> str:
    """The first line of what a driver said (its own exception, if SQLAlchemy wrapped it)."""
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
