"""The HTTP metadata store: a client of the flowtrail service (needs the ``service`` extra)."""

from __future__ import annotations

from flowtrail.store.http.store import HttpStore, connect_http_store
from flowtrail.store.http.transport import RetryPolicy, ServiceClient, build_client

__all__ = ["HttpStore", "RetryPolicy", "ServiceClient", "build_client", "connect_http_store"]
