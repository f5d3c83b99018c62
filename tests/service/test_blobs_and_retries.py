"""Blobs through the service, retries of the HTTP store, and a core that imports without
the service extra."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from flowtrail.blobs import BlobStore, open_blob_store
from flowtrail.blobs.http_backend import HttpBlobBackend
from flowtrail.errors import InvalidArgument, NotFound, StoreUnavailable
from flowtrail.model import NewRun, RunFilter
from flowtrail.store.http import HttpStore, RetryPolicy


def test_put_checks_the_sha(client: TestClient, blobs: BlobStore) -> None:
    data = b"\x00hello"
    sha = hashlib.sha256(data).hexdigest()
    wrong = hashlib.sha256(b"other").hexdigest()
    response = client.put(f"/api/v1/blobs/{wrong}", content=data)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["actual_sha"] == sha
    assert not blobs.has(wrong)
    assert client.put(f"/api/v1/blobs/{sha}", content=data).status_code == 201
    assert client.put(f"/api/v1/blobs/{sha}", content=data).status_code == 200
    assert client.get(f"/api/v1/blobs/{sha}").content == data
    assert client.head(f"/api/v1/blobs/{sha}").status_code == 200
    assert client.head(f"/api/v1/blobs/{wrong}").status_code == 404
    assert client.get("/api/v1/blobs/not-a-sha").status_code == 400


def test_a_blob_store_through_the_service(client: TestClient, blobs: BlobStore) -> None:
    remote = BlobStore(HttpBlobBackend(client))
    ref = remote.put(b"artifact bytes" * 1000)  # compressed, then sent
    assert blobs.get(ref.sha) == b"artifact bytes" * 1000  # the service's own store has it
    assert remote.get(ref.sha) == b"artifact bytes" * 1000
    assert remote.has(ref.sha)
    assert not remote.put(b"artifact bytes" * 1000).created
    with pytest.raises(NotFound):
        remote.get("1" * 64)
    with pytest.raises(InvalidArgument, match="content-addressed"):
        remote.backend.write("logs/x", b"x")
    with pytest.raises(InvalidArgument):
        remote.backend.delete(f"blobs/{ref.sha[:2]}/{ref.sha}")


def test_open_blob_store_takes_service_urls() -> None:
    store = open_blob_store("http://127.0.0.1:1/", token="t0ken")
    assert isinstance(store.backend, HttpBlobBackend)
    assert store.url == "http://127.0.0.1:1"
    store.close()


Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]


def failing_first(app: FastAPI, count: int) -> tuple[ASGI, list[str]]:
    """The app behind a proxy that answers 503 to the first ``count`` API requests."""
    seen: list[str] = []

    async def proxy(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            seen.append(scope["path"])
            if len(seen) <= count:
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"upstream restarting"})
                return
        await app(scope, receive, send)

    return proxy, seen


def test_idempotent_calls_are_retried_after_a_5xx(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    proxy, seen = failing_first(app, 2)
    with TestClient(proxy) as client:  # type: ignore[arg-type]
        store = HttpStore(client, retry=RetryPolicy(total_seconds=5, first_delay=0.01))
        with caplog.at_level(logging.WARNING, logger="flowtrail.store.http"):
            assert len(store.find_runs(RunFilter())) == 0
    assert len(seen) == 3
    # The wait is said once, not at every try.
    waits = [r.getMessage() for r in caplog.records if r.name == "flowtrail.store.http"]
    assert len(waits) == 1, waits
    assert waits[0].startswith("the flowtrail service at http://testserver did not answer (")
    assert waits[0].endswith("trying again for up to 5s")


def test_creates_are_not_retried_after_a_5xx(app: FastAPI) -> None:
    proxy, seen = failing_first(app, 1)
    with TestClient(proxy) as client:  # type: ignore[arg-type]
        store = HttpStore(client, retry=RetryPolicy(total_seconds=5, first_delay=0.01))
        with pytest.raises(StoreUnavailable, match="without an error envelope"):
            store.create_run(NewRun("F"))
    assert len(seen) == 1


def test_a_service_that_stays_away_raises_store_unavailable() -> None:
    client = httpx.Client(base_url="http://127.0.0.1:1")
    store = HttpStore(client, retry=RetryPolicy(total_seconds=0.3, first_delay=0.05))
    with pytest.raises(StoreUnavailable, match=r"did not answer GET /api/v1/runs after \d+ tries"):
        store.find_runs()
    store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.find_runs()


def test_the_core_imports_without_the_service_stack() -> None:
    code = (
        "import sys, flowtrail, flowtrail.store, flowtrail.blobs, flowtrail.client;"
        "bad = [m for m in ('fastapi', 'httpx', 'pydantic', 'starlette', 'prometheus_client')"
        " if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_wire_imports_nothing_of_the_service() -> None:
    code = (
        "import sys, flowtrail.store.http, flowtrail.blobs.http_backend;"
        "print([m for m in sys.modules if m.startswith(('flowtrail.service', 'fastapi'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("limit", [0.3, 1.5])
def test_run_blobs_through_the_service_give_up_at_the_runs_limit(limit: float) -> None:
    # Nothing holds a blob write the way the recorder holds records: the blob store's own
    # calls keep trying for the run's --store-retry-seconds, not a fixed 30 s.
    from flowtrail.config import resolve_settings
    from flowtrail.runtime.stores import open_run_blobs
    from tests.service_process import free_port

    settings = resolve_settings(metadata=f"service@http://127.0.0.1:{free_port()}", env={})
    assert settings.datastore == "service"
    blobs = open_run_blobs(settings, retry_for=limit)
    try:
        assert isinstance(blobs.backend, HttpBlobBackend)
        with pytest.raises(StoreUnavailable, match=rf"in {limit:g}s"):
            blobs.put(b"artifact bytes")
    finally:
        blobs.close()


def test_run_blobs_through_the_service_ride_out_an_outage_within_the_limit(
    tmp_path: Path,
) -> None:
    from flowtrail.config import resolve_settings
    from flowtrail.runtime.stores import open_run_blobs
    from tests.service_process import ServiceProcess

    service = ServiceProcess(f"sqlite:///{tmp_path / 'h.db'}", tmp_path / "service")
    service.start()
    blobs = open_run_blobs(
        resolve_settings(metadata=f"service@{service.url}", env={}), retry_for=120
    )
    try:
        assert blobs.put(b"before").created
        service.stop()
        restart = threading.Timer(2.0, service.start)
        restart.start()
        try:
            ref = blobs.put(b"during the outage")  # waits for the service to come back
        finally:
            restart.join()
        assert blobs.get(ref.sha) == b"during the outage"
        assert (tmp_path / "service" / "blobs").is_dir()
    finally:
        blobs.close()
        service.stop()


def test_a_runs_workers_open_their_blobs_with_the_runs_limit() -> None:
    # The workers open the run's blob store from its URL and options, as runtime/worker.py
    # does: the options carry the limit, as text (they cross a process boundary).
    from flowtrail.config import resolve_settings
    from flowtrail.runtime.stores import run_blob_options
    from tests.service_process import free_port

    settings = resolve_settings(metadata=f"service@http://127.0.0.1:{free_port()}", env={})
    options = run_blob_options(settings, retry_for=0.3)
    assert options == {"retry_seconds": "0.3"}
    blobs = open_blob_store(settings.blob_url, **options)
    try:
        with pytest.raises(StoreUnavailable, match=r"in 0\.3s"):
            blobs.put(b"artifact bytes")
    finally:
        blobs.close()
    local = resolve_settings(metadata="local", env={})
    assert run_blob_options(local, retry_for=0.3) == {}  # nothing else retries
    with pytest.raises(InvalidArgument, match="retry_seconds"):
        open_blob_store("http://127.0.0.1:1", retry_seconds="soon")
