"""``open_store(url)``: the metadata store for a URL, chosen by its scheme from a literal
table of factories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from flowtrail.errors import InvalidArgument, StoreUnavailable
from flowtrail.store.base import MetadataStore
from flowtrail.store.sql.dialects import create_engine
from flowtrail.store.sql.migrate import MigrateMode, ensure_schema
from flowtrail.store.sql.store import SqlStore

__all__ = ["SCHEMES", "open_store"]


def _open_sql(url: str, migrate: MigrateMode) -> MetadataStore:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise InvalidArgument(f"expected a database URL, got {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database or "").expanduser().resolve().parent
        if not folder.is_dir():
            raise StoreUnavailable(
                f"cannot open {url}: the folder {folder} does not exist",
                details={"url": url},
            )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    display = parsed.render_as_string(hide_password=True)
    try:
        engine = create_engine(parsed)
    except ModuleNotFoundError as exc:
        raise StoreUnavailable(
            f"cannot open {display}: the driver {exc.name!r} is not installed; "
            f"install it with: pip install 'flowtrail[postgres]'"
        ) from None
    try:
        ensure_schema(engine, migrate, display)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreUnavailable(
            f"cannot reach the metadata store at {display}: {reason}", details={"url": display}
        ) from exc
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine)


#: URL scheme (the part before ``://``, driver included) to the factory that opens it.
SCHEMES: dict[str, Callable[[str, MigrateMode], MetadataStore]] = {
    "sqlite": _open_sql,
    "sqlite+pysqlite": _open_sql,
    "postgresql": _open_sql,
    "postgresql+psycopg": _open_sql,
}


def open_store(url: str, *, migrate: MigrateMode | str = MigrateMode.AUTO) -> MetadataStore:
    """Open the metadata store at ``url``.

    ``sqlite:///path/to/file.db`` (a file; ``sqlite:////abs/path`` for an absolute path),
    ``sqlite://`` (in memory, for tests), ``postgresql+psycopg://user:pw@host/db``
    (``postgresql://`` means the same). The schema is brought up to date as ``migrate``
    allows (see :class:`~flowtrail.store.sql.migrate.MigrateMode`).

    Raises:
        InvalidArgument: the scheme is not one of :data:`SCHEMES`.
        StoreUnavailable: the database cannot be reached (the message never shows a password).
        SchemaMismatch: the schema is not current and ``migrate`` forbids upgrading it.
    """
    scheme = url.split("://", 1)[0] if "://" in url else ""
    factory = SCHEMES.get(scheme)
    if factory is None:
        shown = url if "@" not in url else url.split("://", 1)[0] + "://***"
        raise InvalidArgument(
            f"expected a metadata store URL starting with one of "
            f"{', '.join(s + '://' for s in SCHEMES)}; got {shown!r}",
            details={"scheme": scheme},
        )
    return factory(url, MigrateMode(migrate))
