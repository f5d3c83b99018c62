"""The Prometheus metrics of one service app, in a registry of its own (no global state:
two apps in one process count separately).

Names (all prefixed ``flowtrail_``):

* ``http_requests_total{method, route, status}``: requests answered, by route template
  (``/api/v1/flows/{name}``, never the filled-in path) and HTTP status;
* ``http_request_duration_seconds{method, route}``: a latency histogram;
* ``runs_created_total``: runs created (``POST /api/v1/runs``);
* ``tasks_recorded_total``: tasks recorded, singly or in batches;
* ``db_pool_size`` and ``db_pool_checked_out``: the database connection pool, when the
  store has one (a SQL store over a pooled engine).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from flowtrail.store.base import MetadataStore

__all__ = ["ServiceMetrics"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """The counters, histogram and gauges of one app.

    Args:
        store: The store whose connection pool is reported, if it has one.
    """

    def __init__(self, store: MetadataStore) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "flowtrail_http_requests",
            "HTTP requests answered, by route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "flowtrail_http_request_duration_seconds",
            "Time to answer a request, by route template.",
            ("method", "route"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.runs_created = Counter(
            "flowtrail_runs_created", "Runs created through the service.", registry=self.registry
        )
        self.tasks_recorded = Counter(
            "flowtrail_tasks_recorded",
            "Tasks recorded through the service (singly or in batches).",
            registry=self.registry,
        )
        pool = _pool_of(store)
        if pool is not None:
            size = Gauge(
                "flowtrail_db_pool_size",
                "Connections the database pool keeps.",
                registry=self.registry,
            )
            size.set_function(lambda: float(pool.size()))
            out = Gauge(
                "flowtrail_db_pool_checked_out",
                "Database connections in use.",
                registry=self.registry,
            )
            out.set_function(lambda: float(pool.checkedout()))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)


def _pool_of(store: MetadataStore) -> Any:
    engine = getattr(store, "engine", None)
    pool = getattr(engine, "pool", None)
    has_counts = callable(getattr(pool, "checkedout", None)) and callable(
        getattr(pool, "size", None)
    )
    return pool if has_counts else None
