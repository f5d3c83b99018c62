"""``create_app``: the flowtrail service as an ASGI app over a metadata store and a blob
store, ready for any ASGI server (uvicorn) or for ``TestClient`` in tests."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from flowtrail._version import __version__
from flowtrail.blobs import BlobStore
from flowtrail.errors import FlowtrailError, InvalidArgument, NotFound, Unauthorized
from flowtrail.service import blobs as blob_routes
from flowtrail.service import reads, writes
from flowtrail.service.auth import Role
from flowtrail.service.config import ServiceConfig
from flowtrail.service.deps import AppState, need
from flowtrail.service.metrics import ServiceMetrics
from flowtrail.service.middleware import ObserveMiddleware
from flowtrail.store.base import CURSOR_ARGUMENT, MetadataStore
from flowtrail.wire import API_VERSION, ErrorEnvelope
from flowtrail.wire.base import field_error

__all__ = ["create_app"]

_log = logging.getLogger("flowtrail.service")


def create_app(
    store: MetadataStore, blobs: BlobStore | None = None, config: ServiceConfig | None = None
) -> FastAPI:
    """Build the service app.

    The app does not own the stores: whoever built them closes them after the server stops.

    Args:
        store: The metadata store every request reads and writes (usually a SQL store).
        blobs: The blob store behind ``/api/v1/blobs``; ``None`` answers those with 503.
        config: Tokens and limits; the default asks for no token.

    Returns:
        The ASGI app: ``/api/v1/...``, ``/ping``, ``/metrics``, ``/openapi.json``, ``/docs``.
    """
    config = config or ServiceConfig()
    version = __version__  # the one place it is kept (an installed package's metadata may lag)
    metrics = ServiceMetrics(store, config.metrics_dir)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            metrics.close()

    app = FastAPI(
        lifespan=lifespan,
        title="flowtrail",
        version=version,
        summary="The execution history of flowtrail workflows, over HTTP.",
        description=(
            f"The JSON API (version {API_VERSION}) over one flowtrail history. Errors answer "
            '`{"error": {"code", "message", "details"}}`; times are epoch milliseconds.'
        ),
    )
    app.state.flowtrail = AppState(store=store, blobs=blobs, config=config, metrics=metrics)
    app.include_router(reads.router)
    app.include_router(writes.router)
    app.include_router(blob_routes.router)

    @app.get("/ping", tags=["service"])
    def ping() -> dict[str, str]:
        """Always 200 with the version: the service is up (no token needed)."""
        return {"status": "ok", "version": version, "api": API_VERSION}

    @app.get("/metrics", tags=["service"], dependencies=[need(Role.READ)], response_class=Response)
    def prometheus(request: Request) -> Response:
        """Prometheus metrics of the service, of all its server processes (needs the read
        role when tokens are set)."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.add_exception_handler(FlowtrailError, _flowtrail_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(ObserveMiddleware, config=config, metrics=metrics)
    return app


def _envelope(
    status: int, envelope: ErrorEnvelope, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(envelope.model_dump(mode="json"), status_code=status, headers=headers)


async def _flowtrail_error(request: Request, exc: FlowtrailError) -> Response:
    headers = None
    if isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer realm="flowtrail"'}
    if exc.http_status >= 500:
        _log.warning("%s %s: %s", request.method, request.url.path, exc.message)
    if isinstance(exc, InvalidArgument) and exc.details.get("argument") == CURSOR_ARGUMENT:
        exc = field_error("query.cursor", exc)  # the store's argument is a query parameter
    envelope = ErrorEnvelope.of(exc)
    if request.method == "HEAD":
        # No body, but the type the body would have, as the document says.
        return Response(status_code=exc.http_status, headers=headers, media_type="application/json")
    return _envelope(exc.http_status, envelope, headers)


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = [
        {
            "field": _where(tuple(e.get("loc", ()))),
            "message": _message(e),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    return _invalid(errors)


def _message(error: Any) -> str:
    """Pydantic's message, or for a check of ours the check's own (without "Value error,")."""
    cause = (error.get("ctx") or {}).get("error")
    if error.get("type") == "value_error" and isinstance(cause, ValueError):
        return str(cause)
    return str(error.get("msg", ""))


def _invalid(errors: list[dict[str, str]]) -> Response:
    """The 400 envelope of refused input: the first problem's field path and message."""
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    envelope = ErrorEnvelope.model_validate(
        {
            "error": {
                "code": "invalid_argument",
                "message": f"{first['field']}: {first['message']}{more}",
                "details": {"field_path": first["field"], "errors": errors[:20]},
            }
        }
    )
    return _envelope(400, envelope)


def _unparsable_body(cause: BaseException) -> list[dict[str, str]]:
    """The problems of a JSON body that the JSON decoder refused other than with a
    ``JSONDecodeError`` (which FastAPI reports as a validation error itself)."""
    if isinstance(cause, UnicodeDecodeError):
        field, why = f"body.{cause.start}", "the body is not valid UTF-8"
    elif isinstance(cause, RecursionError):
        field, why = "body", "the body nests arrays or objects too deeply"
    else:  # ValueError: an integer of more digits than Python converts, say
        field, why = "body", str(cause)
    return [{"field": field, "message": f"JSON decode error ({why})", "type": "json_invalid"}]


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, ValueError | RecursionError):
        # FastAPI answers a body json.loads refused for a reason other than a syntax
        # error with a bare 400: answer it as the malformed JSON it is.
        return _invalid(_unparsable_body(cause))
    if exc.status_code == 404:
        error: FlowtrailError = NotFound(f"no such endpoint: {request.method} {request.url.path}")
        return _envelope(404, ErrorEnvelope.of(error))
    envelope = ErrorEnvelope.model_validate(
        {"error": {"code": f"http_{exc.status_code}", "message": str(exc.detail), "details": {}}}
    )
    return _envelope(exc.status_code, envelope, dict(exc.headers or {}))
