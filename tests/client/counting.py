"""A metadata store that counts the read calls it answers, and the ``counting`` fixture: a
history of 250 runs of ``Big`` and one TrainFlow run read through it (``tests/client/conftest``
makes the fixture available to every client test)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flowtrail.blobs import open_blob_store
from flowtrail.client import Provider
from flowtrail.config import resolve_settings
from flowtrail.model import NewRun, Page, PageRequest, Pathspec, RunFilter, RunRecord
from flowtrail.store import SqlStore, open_store
from flowtrail.store.sql import create_engine
from tests.client.history import T0, record_train_flow

RUNS = 250


class CountingStore(SqlStore):
    """A SqlStore that counts its read calls and remembers the page sizes asked for, and
    whose SQLite connections report each statement they run to :attr:`traced` while
    :attr:`tracing` (whichever way the store runs it: on its own driver connections or in
    a SQLAlchemy transaction)."""

    def __init__(self, url: str) -> None:
        engine = create_engine(url)
        sa.event.listen(engine, "connect", self._trace_connection)
        super().__init__(engine)
        self.calls: Counter[str] = Counter()
        self.limits: list[int] = []
        self.tracing = False
        self.traced: list[str] = []

    def _trace_connection(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(self._trace)

    def _trace(self, statement: str) -> None:
        if self.tracing:
            self.traced.append(" ".join(statement.split())[:120])

    def _count(self, name: str, page: PageRequest | None = None) -> None:
        self.calls[name] += 1
        if page is not None:
            self.limits.append(page.limit)

    def reset(self) -> None:
        self.calls.clear()
        self.limits.clear()

    def find_runs(
        self, filter: RunFilter | None = None, page: PageRequest | None = None
    ) -> Page[RunRecord]:
        self._count("find_runs", page)
        return super().find_runs(filter, page)

    def get_run(self, run: Pathspec) -> RunRecord:
        self._count("get_run")
        return super().get_run(run)

    def run_exists(self, run: Pathspec, *, namespace: str | None = None) -> bool:
        self._count("run_exists")
        return super().run_exists(run, namespace=namespace)

    def find_flows(self, page: PageRequest | None = None) -> Page[Any]:
        self._count("find_flows", page)
        return super().find_flows(page)

    def get_step(self, step: Pathspec) -> Any:
        self._count("get_step")
        return super().get_step(step)

    def find_tasks(self, scope: Pathspec, page: PageRequest | None = None) -> Page[Any]:
        self._count("find_tasks", page)
        return super().find_tasks(scope, page)

    def get_task(self, task: Pathspec) -> Any:
        self._count("get_task")
        return super().get_task(task)

    def get_attempt(self, task: Pathspec, number: int | None = None) -> Any:
        self._count("get_attempt")
        return super().get_attempt(task, number)

    def find_artifacts(
        self, task: Pathspec, page: PageRequest | None = None, *, attempt: int | None = None
    ) -> Page[Any]:
        self._count("find_artifacts", page)
        return super().find_artifacts(task, page, attempt=attempt)


@pytest.fixture
def counting(tmp_path: Path) -> Iterator[tuple[CountingStore, Provider]]:
    """A counting store holding 250 runs of ``Big`` (every 10th tagged prod) and one
    recorded TrainFlow run, and a provider reading through it."""
    url = f"sqlite:///{tmp_path / 'flowtrail.db'}"
    open_store(url).close()  # creates the schema
    store = CountingStore(url)
    blobs = open_blob_store(tmp_path / "blobs")
    for i in range(RUNS):
        tags = frozenset({"prod"}) if i % 10 == 0 else frozenset()
        store.create_run(NewRun("Big", tags=tags, system_tags=frozenset({"user:alice"})))
    record_train_flow(store, blobs, created_at=T0)
    settings = resolve_settings(metadata=url, datastore_root=str(tmp_path / "blobs"), env={})
    provider = Provider(settings, store=store, blobs=blobs)
    store.reset()
    yield store, provider
    store.close()
    blobs.close()


def alice(provider: Provider) -> dict[str, Any]:
    return {"provider": provider, "_current_namespace": "user:alice"}
