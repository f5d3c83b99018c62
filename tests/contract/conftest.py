"""The ``store`` fixture of the metadata-store contract suite: every test in
``tests/contract/test_store_*.py`` runs against every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowtrail.store import MetadataStore, SqlStore, open_store
from tests.conftest import truncate_all

BACKENDS = ["sqlite-memory", "sqlite-file", "postgres"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    """A fresh, empty metadata store of each backend."""
    backend: MetadataStore
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
