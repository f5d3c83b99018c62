"""What every route depends on: the app's stores, the caller's role, and JSON answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from flowtrail.blobs import BlobStore
from flowtrail.errors import StoreUnavailable
from flowtrail.model import Level, Pathspec
from flowtrail.service.auth import Role
from flowtrail.service.config import ServiceConfig
from flowtrail.service.metrics import ServiceMetrics
from flowtrail.store.base import MetadataStore
from flowtrail.wire import at_field

__all__ = ["AppState", "StoreDep", "json_response", "need", "parse_spec", "state_of"]

_bearer = HTTPBearer(auto_error=False, description="A token from the service's token file.")


@dataclass(frozen=True, slots=True)
class AppState:
    """What one app serves, kept in ``app.state.flowtrail``."""

    store: MetadataStore
    blobs: BlobStore | None
    config: ServiceConfig
    metrics: ServiceMetrics


def state_of(request: Request) -> AppState:
    """The app's state."""
    state: AppState = request.app.state.flowtrail
    return state


def _store(request: Request) -> MetadataStore:
    return state_of(request).store


#: A route parameter that receives the metadata store.
StoreDep = Annotated[MetadataStore, Depends(_store)]


def blobs_of(request: Request) -> BlobStore:
    """The app's blob store.

    Raises:
        StoreUnavailable: the service was started without one.
    """
    blobs = state_of(request).blobs
    if blobs is None:
        raise StoreUnavailable("this service keeps no blobs: it was started without a blob store")
    return blobs


def need(role: Role) -> Any:
    """A dependency that lets a request through only with a token of ``role`` or higher
    (when the service has tokens at all)."""

    def check(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> None:
        auth = state_of(request).config.auth
        if auth is None:
            return
        entry = auth.authenticate(request.headers.get("authorization"))
        auth.authorize(entry, role)
        request.state.token_name = entry.name

    return Depends(check)


def parse_spec(text: str, level: Level | None, field: str = "query.pathspec") -> Pathspec:
    """Parse a pathspec parameter, naming the field when it is malformed."""
    with at_field(field):
        return Pathspec.parse(text, level)


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """Answer with a model's JSON, serialised once (the route declares the model for the
    OpenAPI document)."""
    return Response(model.model_dump_json(), status_code, media_type="application/json")
