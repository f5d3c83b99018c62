"""``/metrics`` of a real ``flowtrail service`` process: with ``--workers N`` every scrape,
whichever worker answers it, shows the counts of all workers; with one it counts alone."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from flowtrail.store.sql import create_engine
from tests.conftest import ServiceOnPostgres
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.postgres

_LINE = re.compile(r"\[(\d+)\] flowtrail\.service\.access: (\w+) (\S+) (\d+) ")
_SHARED = re.compile(r"metrics of the workers are added up through (\S+)")


def answered_by(log: str, method: str, path: str) -> list[int]:
    """The process ids of the access-log lines of ``method path``, in order."""
    return [
        int(m.group(1)) for m in _LINE.finditer(log) if m.group(2) == method and m.group(3) == path
    ]


def logged(service: ServiceProcess, method: str, path: str, count: int) -> list[int]:
    """Wait until the log holds ``count`` lines of ``method path`` (a worker writes its line
    just after it answers); returns their process ids."""
    deadline = time.monotonic() + 60
    while True:
        pids = answered_by(service.log, method, path)
        if len(pids) >= count or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def sample(text: str, name: str) -> float:
    """The value of the sample line ``name`` (labels included) of a scrape."""
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} in:\n{text}")


def test_every_scrape_adds_up_the_workers(fresh_postgres: str, tmp_path: Path) -> None:
    engine = create_engine(fresh_postgres)
    pool_size = engine.pool.size()  # type: ignore[attr-defined]
    engine.dispose()
    service = ServiceProcess(fresh_postgres, tmp_path / "service", "--workers", "2")
    service.start()
    try:
        # Create runs, each over a new connection, until both workers have created some.
        created = 0
        while created < 400:
            created += 1
            response = httpx.post(f"{service.url}/api/v1/runs", json={"flow_name": "F"})
            assert response.status_code == 201, response.text
            if created >= 4 and len(set(logged(service, "POST", "/api/v1/runs", created))) > 1:
                break
        assert len(set(answered_by(service.log, "POST", "/api/v1/runs"))) == 2, service.log

        # Scrape until both workers have answered a scrape: every one shows every run.
        scrapes: list[str] = []
        while len(scrapes) < 400:
            response = httpx.get(f"{service.url}/metrics")
            assert response.status_code == 200
            scrapes.append(response.text)
            if len(scrapes) >= 6 and len(set(logged(service, "GET", "/metrics", len(scrapes)))) > 1:
                break
        assert len(set(answered_by(service.log, "GET", "/metrics"))) == 2, service.log
        for text in scrapes:
            assert sample(text, "flowtrail_runs_created_total") == created
            posts = 'flowtrail_http_requests_total{method="POST",route="/api/v1/runs",status="201"}'
            assert sample(text, posts) == created
            latency = (
                'flowtrail_http_request_duration_seconds_count{method="POST",route="/api/v1/runs"}'
            )
            assert sample(text, latency) == created
            assert sample(text, "flowtrail_tasks_recorded_total") == 0
            # Both workers keep a pool (PostgreSQL): the gauge is their sum.
            assert sample(text, "flowtrail_db_pool_size") == 2 * pool_size
        # A scrape counts itself too: the last saw all the earlier ones.
        scraped = 'flowtrail_http_requests_total{method="GET",route="/metrics",status="200"}'
        assert sample(scrapes[-1], scraped) == len(scrapes) - 1

        shared = _SHARED.search(service.log)
        assert shared is not None, service.log
        folder = Path(shared.group(1))
        assert folder.is_dir()
    finally:
        assert service.stop() == 0
    assert not folder.exists(), "the shared metrics folder is removed at shutdown"


def test_one_worker_counts_alone(service_postgres: ServiceOnPostgres) -> None:
    url = service_postgres.service.url
    assert "added up through" not in service_postgres.service.log
    before = sample(httpx.get(f"{url}/metrics").text, "flowtrail_runs_created_total")
    for _ in range(3):
        assert httpx.post(f"{url}/api/v1/runs", json={"flow_name": "Solo"}).status_code == 201
    for _ in range(3):
        after = sample(httpx.get(f"{url}/metrics").text, "flowtrail_runs_created_total")
        assert after == before + 3
