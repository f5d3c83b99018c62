"""Fixtures shared by the whole suite: a fresh PostgreSQL database per test session.

The PostgreSQL tests use ``FLOWTRAIL_TEST_POSTGRES_URL`` (``bin/test`` sets it to the local
server when one answers on 127.0.0.1:5432). Each session (each xdist worker) creates its own
database and drops it at the end. Without a reachable server the tests are skipped, except
when ``CI`` is set: then an unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from flowtrail.store.sql import create_engine, upgrade
from tests.service_process import ServiceProcess, running_service

POSTGRES_ENV = "FLOWTRAIL_TEST_POSTGRES_URL"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so the PostgreSQL tests must run: {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def new_database(base_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database on the server of ``base_url``; yield its URL; drop it."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the session."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        _unavailable(f"{POSTGRES_ENV} is not set")
    assert base is not None
    probe = sa.create_engine(base)
    try:
        probe.connect().close()
    except sa.exc.OperationalError as exc:
        _unavailable(f"PostgreSQL at {make_url(base).render_as_string()} is unreachable: {exc}")
    finally:
        probe.dispose()
    with new_database(base, "flowtrail_test") as url:
        yield url


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    """The URL of an empty PostgreSQL database of this test's own, dropped afterwards."""
    with new_database(postgres_url, "flowtrail_fresh") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[sa.Engine]:
    """An engine on the session's PostgreSQL database, migrated to the newest schema."""
    engine = create_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def truncate_all(engine: sa.Engine) -> None:
    """Empty every flowtrail table of a PostgreSQL database (keeps the schema)."""
    from flowtrail.store.sql.schema import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@dataclass(frozen=True)
class ServiceOnPostgres:
    """A real ``flowtrail service`` process and an engine on the database it serves."""

    service: ServiceProcess
    engine: sa.Engine
    url: str


@pytest.fixture(scope="session")
def service_postgres(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceOnPostgres]:
    """``flowtrail service`` over a fresh PostgreSQL database of its own (no tokens), for
    the whole session; tests empty it with :func:`truncate_all`."""
    folder = tmp_path_factory.mktemp("service")
    with (
        new_database(postgres_url, "flowtrail_service") as url,
        running_service(url, folder) as service,
    ):
        engine = create_engine(url)
        try:
            yield ServiceOnPostgres(service, engine, url)
        finally:
            engine.dispose()
