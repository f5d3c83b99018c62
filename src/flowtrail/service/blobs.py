"""Blob endpoints: the content-addressed blob store over HTTP, for workers with no shared
datastore.

A blob's sha is the sha256 of its stored bytes (see :mod:`flowtrail.blobs.cas`): the client
encodes, hashes and sends the stored bytes; the service checks the hash before it writes,
and again before it answers a read, so neither side ever takes corrupted bytes.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from flowtrail.blobs import BlobStore
from flowtrail.blobs.cas import blob_key
from flowtrail.errors import BlobCorrupted, InvalidArgument, NotFound
from flowtrail.service.auth import Role
from flowtrail.service.deps import blobs_of, need
from flowtrail.wire import API_PREFIX, ErrorEnvelope, at_field

__all__ = ["router"]

_ERRORS = {
    code: {"model": ErrorEnvelope, "description": text}
    for code, text in (
        (400, "The sha is not 64 lowercase hex characters"),
        (401, "No valid token"),
        (403, "The token's role does not allow it"),
        (404, "No such blob"),
        (503, "This service has no blob store"),
    )
}

router = APIRouter(prefix=API_PREFIX, tags=["blobs"], responses=_ERRORS)  # type: ignore[arg-type]

_OCTETS = "application/octet-stream"


def _key(sha: str) -> str:
    with at_field("path.sha"):
        return blob_key(sha)


@router.put(
    "/blobs/{sha}",
    dependencies=[need(Role.WRITE)],
    status_code=201,
    responses={
        200: {"description": "The blob was stored already"},
        400: {"model": ErrorEnvelope, "description": "The body does not hash to the sha"},
        413: {"model": ErrorEnvelope, "description": "The blob is larger than allowed"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {_OCTETS: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def put_blob(sha: str, request: Request) -> Response:
    """Store a blob's stored bytes under their sha256; 201 when new, 200 when present."""
    key = _key(sha)
    blobs = blobs_of(request)
    body = await request.body()
    actual = hashlib.sha256(body).hexdigest()
    if actual != sha:
        raise InvalidArgument(
            f"path.sha: the body's sha256 is {actual}, not the {sha} of the URL; nothing "
            f"was stored",
            details={"field_path": "path.sha", "sha": sha, "actual_sha": actual},
        )
    created = await run_in_threadpool(blobs.backend.write, key, body)
    return Response(status_code=201 if created else 200)


def _read(blobs: BlobStore, sha: str, key: str) -> bytes:
    data = blobs.backend.read(key)
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha:
        raise BlobCorrupted(
            f"blob {sha} is corrupted on the service: its bytes hash to {actual}",
            details={"sha": sha, "actual_sha": actual},
        )
    return data


@router.get(
    "/blobs/{sha}",
    dependencies=[need(Role.READ)],
    response_class=Response,
    responses={
        200: {"content": {_OCTETS: {}}, "description": "The stored bytes"},
        404: {"model": ErrorEnvelope, "description": "No such blob"},
    },
)
def get_blob(sha: str, request: Request) -> Response:
    """A blob's stored bytes, checked against their sha."""
    key = _key(sha)
    try:
        data = _read(blobs_of(request), sha, key)
    except NotFound:
        raise NotFound(f"no blob with sha {sha}", details={"sha": sha}) from None
    return Response(data, media_type=_OCTETS)


@router.head("/blobs/{sha}", dependencies=[need(Role.READ)], response_class=Response)
def blob_exists(sha: str, request: Request) -> Response:
    """200 when the blob is stored, 404 when not (no body either way)."""
    key = _key(sha)
    if blobs_of(request).backend.exists(key):
        return Response(status_code=200)
    return Response(status_code=404, media_type="application/json")
