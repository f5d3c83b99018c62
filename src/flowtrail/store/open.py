"""``open_store(url)``: the metadata store for a URL, chosen by its scheme from a literal
table of factories."""

from __future__ import annotations

from collections.abc import Callable

from flowtrail.config.spec import mask_password
from flowtrail.errors import InvalidArgument
from flowtrail.store.base import MetadataStore
from flowtrail.store.sql.connect import parse_database_url, translate_driver_errors
from flowtrail.store.sql.migrate import MigrateMode, ensure_schema
from flowtrail.store.sql.store import SqlStore

__all__ = ["SCHEMES", "open_store"]


def _open_sql(url: str, migrate: MigrateMode, token: str | None) -> MetadataStore:
    database = parse_database_url(url)
    engine = database.engine()
    try:
        with translate_driver_errors(database):
            ensure_schema(engine, migrate, database.display)
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine)


def _open_http(url: str, migrate: MigrateMode, token: str | None) -> MetadataStore:
    # The service migrates its own database; httpx loads only when a service is opened.
    from flowtrail.store.http import connect_http_store

    return connect_http_store(url, token=token)


#: URL scheme (the part before ``://``, driver included) to the factory that opens it.
SCHEMES: dict[str, Callable[[str, MigrateMode, str | None], MetadataStore]] = {
    "sqlite": _open_sql,
    "sqlite+pysqlite": _open_sql,
    "postgresql": _open_sql,
    "postgresql+psycopg": _open_sql,
    "http": _open_http,
    "https": _open_http,
}


def open_store(
    url: str, *, migrate: MigrateMode | str = MigrateMode.AUTO, token: str | None = None
) -> MetadataStore:
    """Open the metadata store at ``url``.

    ``sqlite:///path/to/file.db`` (a file; ``sqlite:////abs/path`` for an absolute path),
    ``sqlite://`` (in memory, for tests), ``postgresql+psycopg://user:pw@host/db``
    (``postgresql://`` means the same). The schema is brought up to date as ``migrate``
    allows (see :class:`~flowtrail.store.sql.migrate.MigrateMode`). ``http://host:port`` and
    ``https://...`` open an :class:`~flowtrail.store.http.HttpStore` on the flowtrail service
    (needs the ``service`` extra), sending ``token`` as a bearer token; SQL URLs ignore
    ``token``.

    Raises:
        InvalidArgument: the scheme is not one of :data:`SCHEMES`.
        StoreUnavailable: the database cannot be reached (the message never shows a password).
        SchemaMismatch: the schema is not current and ``migrate`` forbids upgrading it.
    """
    scheme = url.split("://", 1)[0] if isinstance(url, str) and "://" in url else ""
    factory = SCHEMES.get(scheme)
    if factory is None:
        shown = mask_password(url) if isinstance(url, str) else repr(url)
        raise InvalidArgument(
            f"expected a metadata store URL starting with one of "
            f"{', '.join(s + '://' for s in SCHEMES)}; got {shown!r}",
            details={"scheme": scheme},
        )
    return factory(url, MigrateMode(migrate), token)
