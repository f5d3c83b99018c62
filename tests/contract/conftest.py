"""The ``store`` fixture of the metadata-store contract suite: every test in
``tests/contract/test_store_*.py`` runs against every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowtrail.store import MetadataStore, SqlStore, open_store
from tests.conftest import truncate_all

BACKENDS = ["sqlite-memory", "sqlite-file", "postgres", "http", "http-postgres", "http-process"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    """A fresh, empty metadata store of each backend.

    ``http`` and ``http-postgres`` are the HTTP store talking to the service app in process
    (through ``TestClient``), over in-memory SQLite and over PostgreSQL; ``http-process``
    talks to a real ``flowtrail service`` process (uvicorn) over PostgreSQL.
    """
    backend: MetadataStore
    if request.param.startswith("http"):
        yield from _over_http(request)
        return
    if request.param == "sqlite-memory":
        backend = open_store("sqlite://")
    elif request.param == "sqlite-file":
        backend = open_store(f"sqlite:///{tmp_path / 'flowtrail.db'}")
    else:
        engine: sa.Engine = request.getfixturevalue("postgres_engine")
        truncate_all(engine)
        backend = SqlStore(engine)
    yield backend
    if request.param != "postgres":
        backend.close()


def _over_http(request: pytest.FixtureRequest) -> Iterator[MetadataStore]:
    from fastapi.testclient import TestClient

    from flowtrail.service import create_app
    from flowtrail.store.http import HttpStore, RetryPolicy, connect_http_store

    if request.param == "http-process":
        running = request.getfixturevalue("service_postgres")
        truncate_all(running.engine)
        remote = connect_http_store(running.service.url, retry=RetryPolicy(total_seconds=2.0))
        yield remote
        remote.close()
        return
    inner: MetadataStore
    if request.param == "http-postgres":
        engine: sa.Engine = request.getfixturevalue("postgres_engine")
        truncate_all(engine)
        inner = SqlStore(engine)
    else:
        inner = open_store("sqlite://")
    with TestClient(create_app(inner)) as client:
        store = HttpStore(client, retry=RetryPolicy(total_seconds=2.0))
        yield store
        store.close()
    if request.param != "http-postgres":
        inner.close()
