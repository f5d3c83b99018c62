"""The Prometheus metrics of one service app.

Names (all prefixed ``flowtrail_``):

* ``http_requests_total{method, route, status}``: requests answered, by route template
  (``/api/v1/flows/{name}``, never the filled-in path) and HTTP status;
* ``http_request_duration_seconds{method, route}``: a latency histogram;
* ``runs_created_total``: runs created (``POST /api/v1/runs``);
* ``tasks_recorded_total``: tasks recorded, singly or in batches;
* ``db_pool_size`` and ``db_pool_checked_out``: the database connection pool, when the
  store has one (a SQL store over a pooled engine).

One server process (and every app in a test): the metrics live in a registry of the app's
own, so two apps in one process count apart. Several server processes (``flowtrail service
--workers N``): each process writes its values to files in a folder the processes share
(prometheus-client's multiprocess mode), and ``/metrics``, whichever process answers it,
adds them up: counters and histograms are summed over every process the service started,
the pool gauges over the processes alive. prometheus-client picks its mode when it is first
imported, from ``PROMETHEUS_MULTIPROC_DIR``: whoever starts the processes sets it first
(``flowtrail service`` does), and :class:`ServiceMetrics` checks that it did.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from flowtrail.errors import InvalidArgument
from flowtrail.store.base import MetadataStore

__all__ = ["MULTIPROCESS_ENV", "ServiceMetrics"]

#: The variable prometheus-client reads, when first imported, to count in shared files.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


class ServiceMetrics:
    """The counters, histogram and gauges of one app.

    Args:
        store: The store whose connection pool is reported, if it has one.
        multiprocess_dir: The folder the server processes share their values through, or
            ``None`` for one process (the values stay in this object's registry).

    Raises:
        InvalidArgument: ``multiprocess_dir`` is given but prometheus-client was not
            imported with ``PROMETHEUS_MULTIPROC_DIR`` naming it (values would not be
            shared, and ``/metrics`` would show one process's).
    """

    def __init__(self, store: MetadataStore, multiprocess_dir: Path | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        registry: CollectorRegistry | None = None
        if multiprocess_dir is None:
            registry = self.registry = CollectorRegistry(auto_describe=True)
        else:
            _check_multiprocess(multiprocess_dir)
            # Values go to the shared files; each scrape collects them into a fresh registry.
            self.registry = CollectorRegistry()
            collector: Any = MultiProcessCollector  # untyped in prometheus-client
            collector(self.registry, path=str(multiprocess_dir))
        self.requests = Counter(
            "flowtrail_http_requests",
            "HTTP requests answered, by route template and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.latency = Histogram(
            "flowtrail_http_request_duration_seconds",
            "Time to answer a request, by route template.",
            ("method", "route"),
            buckets=_BUCKETS,
            registry=registry,
        )
        self.runs_created = Counter(
            "flowtrail_runs_created", "Runs created through the service.", registry=registry
        )
        self.tasks_recorded = Counter(
            "flowtrail_tasks_recorded",
            "Tasks recorded through the service (singly or in batches).",
            registry=registry,
        )
        self._pool = _pool_of(store)
        self._pool_gauges: tuple[Gauge, Gauge] | None = None
        if self._pool is not None:
            pool = self._pool
            size = Gauge(
                "flowtrail_db_pool_size",
                "Connections the database pool keeps (summed over the server processes).",
                registry=registry,
                multiprocess_mode="livesum",
            )
            out = Gauge(
                "flowtrail_db_pool_checked_out",
                "Database connections in use (summed over the server processes).",
                registry=registry,
                multiprocess_mode="livesum",
            )
            if multiprocess_dir is None:
                size.set_function(lambda: float(pool.size()))
                out.set_function(lambda: float(pool.checkedout()))
            else:
                # A function is not shared across processes: each process writes its
                # pool's figures after every request and before a scrape.
                self._pool_gauges = (size, out)
                self._refresh_pool()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if self._pool_gauges is not None:
            self._refresh_pool()

    def render(self) -> bytes:
        """The metrics in the Prometheus text format (of every server process, in
        multiprocess mode)."""
        if self.multiprocess_dir is not None:
            self._refresh_pool()
            self._forget_dead_processes()
        return generate_latest(self.registry)

    def close(self) -> None:
        """Say this process is gone (its pool no longer counts); its counts stay.

        Idempotent; nothing to do for one process."""
        if self.multiprocess_dir is not None and self.multiprocess_dir.is_dir():
            _mark_dead(os.getpid(), self.multiprocess_dir)

    def _refresh_pool(self) -> None:
        if self._pool_gauges is not None:
            size, out = self._pool_gauges
            size.set(float(self._pool.size()))
            out.set(float(self._pool.checkedout()))

    def _forget_dead_processes(self) -> None:
        """Drop the pool gauges of server processes that died without saying so (killed)."""
        assert self.multiprocess_dir is not None
        for path in self.multiprocess_dir.glob("gauge_live*_*.db"):
            match = _LIVE_GAUGE_FILE.fullmatch(path.name)
            if match is not None and not _alive(int(match.group(1))):
                _mark_dead(int(match.group(1)), self.multiprocess_dir)


def _check_multiprocess(folder: Path) -> None:
    shared = getattr(prometheus_values.ValueClass, "_multiprocess", False)
    named = os.environ.get(MULTIPROCESS_ENV)
    if not shared or named is None or Path(named).resolve() != folder.resolve():
        raise InvalidArgument(
            f"metrics shared through {str(folder)!r} need {MULTIPROCESS_ENV} to name that "
            f"folder before prometheus_client is first imported (flowtrail service sets it "
            f"for --workers N); got {named!r}"
            + ("" if shared else ", and prometheus_client was imported without it"),
            details={"field": "metrics_dir"},
        )
    if not folder.is_dir():
        raise InvalidArgument(
            f"the metrics folder {str(folder)!r} does not exist", details={"field": "metrics_dir"}
        )


def _mark_dead(pid: int, folder: Path) -> None:
    """Drop the live gauges of process ``pid`` (its counters and histograms stay)."""
    mark_process_dead(pid, str(folder))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pool_of(store: MetadataStore) -> Any:
    engine = getattr(store, "engine", None)
    pool = getattr(engine, "pool", None)
    has_counts = callable(getattr(pool, "checkedout", None)) and callable(
        getattr(pool, "size", None)
    )
    return pool if has_counts else None
