"""One connection to a flowtrail service: requests, the error envelope, and retries.

Shared by :class:`~flowtrail.store.http.HttpStore` and
:class:`~flowtrail.blobs.http_backend.HttpBlobBackend`. Every failure becomes a
:class:`~flowtrail.errors.FlowtrailError`: the class the service's envelope names, or
:class:`~flowtrail.errors.StoreUnavailable` when the service cannot be reached. No httpx
exception leaves this module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from flowtrail.config.spec import mask_password
from flowtrail.errors import FlowtrailError, InvalidArgument, StoreUnavailable
from flowtrail.wire import API_PREFIX, error_from_envelope

__all__ = ["RetryPolicy", "ServiceClient", "build_client"]

_log = logging.getLogger("flowtrail.store.http")

# Errors a service answers with a 5xx that waiting will not cure.
_LASTING = frozenset({"schema_mismatch", "blob_corrupted", "worker_died", "step_timeout"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long an idempotent call keeps trying a service that does not answer (or answers
    5xx), with exponential backoff between tries.

    Attributes:
        total_seconds: Give up (``StoreUnavailable``) once this much time has passed.
        first_delay: The wait after the first failure, in seconds; doubled after each one.
        max_delay: The longest wait between two tries.
    """

    total_seconds: float = 30.0
    first_delay: float = 0.05
    max_delay: float = 2.0

    def __post_init__(self) -> None:
        for name in ("total_seconds", "first_delay", "max_delay"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise InvalidArgument(f"{name} must be a number >= 0, got {value!r}")


def build_client(url: str, *, token: str | None = None, timeout: float = 30.0) -> httpx.Client:
    """An ``httpx.Client`` for the service at ``url``, sending ``Authorization: Bearer``
    when a token is given.

    Raises:
        InvalidArgument: ``url`` is not an ``http://`` or ``https://`` URL.
    """
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise InvalidArgument(
            f"a service URL starts with http:// or https://, got {mask_password(str(url))!r}"
        )
    headers = {"User-Agent": "flowtrail"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)


class ServiceClient:
    """Requests to one service over an injected ``httpx.Client``.

    Args:
        client: The HTTP client; its ``base_url`` is the service's URL.
        retry: How idempotent calls are retried.
    """

    def __init__(self, client: httpx.Client, retry: RetryPolicy | None = None) -> None:
        self._client = client
        self._retry = retry or RetryPolicy()
        self._closed = False
        self._lock = threading.Lock()
        #: Whether the outage now going on was reported (once, until an answer comes).
        self._waiting = False

    @property
    def url(self) -> str:
        """The service's URL, any password masked."""
        return mask_password(str(self._client.base_url).rstrip("/"))

    def close(self) -> None:
        """Close the HTTP client; idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | None = None,
        json: bytes | None = None,
        content: bytes | None = None,
        api: bool = True,
    ) -> httpx.Response:
        """Send one request and return a successful response.

        A request that never reached the service (no connection) is tried again whatever it
        is; an idempotent one is also tried again after a timeout, a broken connection or a
        5xx answer, until the retry policy's time is up.

        Raises:
            FlowtrailError: the class of the service's error envelope.
            StoreUnavailable: the service could not be reached in time, or a call that is not
                idempotent failed in a way that leaves its outcome unknown.
        """
        if self._closed:
            raise StoreUnavailable(f"the HTTP store for {self.url} is closed")
        full = f"{API_PREFIX}{path}" if api else path
        headers = {"Content-Type": "application/json"} if json is not None else None
        deadline = time.monotonic() + self._retry.total_seconds
        delay = self._retry.first_delay
        tries = 0
        while True:
            tries += 1
            last: BaseException
            try:
                response = self._client.request(
                    method,
                    full,
                    params=params,
                    content=json if json is not None else content,
                    headers=headers,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last = exc  # never reached the service: safe to send again
            except httpx.TransportError as exc:
                if not idempotent:
                    raise StoreUnavailable(
                        f"{method} {self.url}{full} failed ({type(exc).__name__}: {exc}); the "
                        f"service may or may not have applied it",
                        details={"url": self.url},
                    ) from None
                last = exc
            else:
                if response.status_code < 400:
                    self._waiting = False
                    return response
                error = error_from_envelope(response.status_code, response.content)
                if response.status_code < 500 or not idempotent or error.code in _LASTING:
                    raise error
                last = error
            if not self._waiting and time.monotonic() + delay <= deadline:
                # Said once per outage: a caller otherwise sees nothing while it waits.
                self._waiting = True
                _log.warning(
                    "the flowtrail service at %s did not answer (%s); trying again for up to %gs",
                    self.url,
                    _describe(last),
                    self._retry.total_seconds,
                )
            if time.monotonic() + delay > deadline:
                raise StoreUnavailable(
                    f"the flowtrail service at {self.url} did not answer {method} {full} "
                    f"after {tries} tries in {self._retry.total_seconds:g}s: {_describe(last)}",
                    details={"url": self.url, "tries": tries},
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, self._retry.max_delay)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FlowtrailError):
        return f"{exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
