"""The outermost layer of the app, in plain ASGI: the body limit, one log line and the
metrics of every request, and a last resort that turns an unexpected exception into a 500
envelope (never a traceback on the wire).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from flowtrail.errors import FlowtrailError, RequestTooLarge
from flowtrail.service.config import ServiceConfig
from flowtrail.service.metrics import ServiceMetrics
from flowtrail.wire import API_PREFIX, ErrorEnvelope

__all__ = ["ACCESS_LOGGER", "ObserveMiddleware", "envelope_bytes"]

#: The logger of the one line per request (method, path, status, milliseconds).
ACCESS_LOGGER = "flowtrail.service.access"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_access = logging.getLogger(ACCESS_LOGGER)
_errors = logging.getLogger("flowtrail.service")
_BLOBS = f"{API_PREFIX}/blobs/"


def envelope_bytes(exc: FlowtrailError) -> bytes:
    """The JSON body of an error envelope."""
    return ErrorEnvelope.of(exc).model_dump_json().encode()


class ObserveMiddleware:
    """Limit, log and count every HTTP request.

    Args:
        app: The app inside.
        config: The body limits.
        metrics: Where requests are counted.
    """

    def __init__(self, app: ASGIApp, config: ServiceConfig, metrics: ServiceMetrics) -> None:
        self.app = app
        self.config = config
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        started = False

        async def send_observed(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
            await send(message)

        try:
            body_receive = await self._bounded_body(scope, receive)
            if body_receive is None:
                status = await self._error(send, self._too_large(scope))
            else:
                await self.app(scope, body_receive, send_observed)
        except Exception:
            _errors.exception("unexpected error answering %s %s", scope["method"], scope["path"])
            if not started:
                status = await self._error(
                    send, FlowtrailError("internal error: the service log has the details")
                )
        finally:
            seconds = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, seconds)
            # The path only: the query string may hold search text, headers the token.
            _access.info("%s %s %d %.1fms", scope["method"], scope["path"], status, seconds * 1e3)

    def _limit(self, scope: Scope) -> int:
        path: str = scope["path"]
        if path.startswith(_BLOBS):
            return self.config.max_blob_bytes
        return self.config.max_body_bytes

    def _too_large(self, scope: Scope) -> RequestTooLarge:
        limit = self._limit(scope)
        return RequestTooLarge(
            f"the request body is larger than this service accepts ({limit} bytes)",
            details={"limit": limit},
        )

    async def _bounded_body(self, scope: Scope, receive: Receive) -> Receive | None:
        """Read the whole body (refusing it past the limit) and return a ``receive`` that
        replays it; ``None`` when it is too large."""
        limit = self._limit(scope)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        return None
                except ValueError:
                    pass
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    @staticmethod
    async def _error(send: Send, exc: FlowtrailError) -> int:
        body = envelope_bytes(exc)
        await send(
            {
                "type": "http.response.start",
                "status": exc.http_status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return exc.http_status
