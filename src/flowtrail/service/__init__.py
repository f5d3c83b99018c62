"""The flowtrail service: the execution history over HTTP.

:func:`create_app` builds the ASGI app (FastAPI) over a metadata store and a blob store: a
versioned JSON API under ``/api/v1`` covering the whole :class:`~flowtrail.store.MetadataStore`
contract, blob upload and download by sha, ``/ping``, Prometheus ``/metrics`` and the
OpenAPI document. :mod:`flowtrail.service.auth` holds the tokens and roles. The request and
response models live in :mod:`flowtrail.wire`, which the HTTP store shares.

Needs the ``service`` extra (``pip install 'flowtrail[service]'``).
"""

from __future__ import annotations

from flowtrail.service.app import create_app
from flowtrail.service.auth import (
    TOKENS_ENV,
    AuthConfig,
    Role,
    TokenEntry,
    hash_token,
    load_token_file,
    make_token_line,
    new_token,
    parse_token_env,
)
from flowtrail.service.config import DEFAULT_MAX_BLOB_BYTES, DEFAULT_MAX_BODY_BYTES, ServiceConfig
from flowtrail.service.metrics import ServiceMetrics
from flowtrail.service.middleware import ACCESS_LOGGER

__all__ = [
    "ACCESS_LOGGER",
    "DEFAULT_MAX_BLOB_BYTES",
    "DEFAULT_MAX_BODY_BYTES",
    "TOKENS_ENV",
    "AuthConfig",
    "Role",
    "ServiceConfig",
    "ServiceMetrics",
    "TokenEntry",
    "create_app",
    "hash_token",
    "load_token_file",
    "make_token_line",
    "new_token",
    "parse_token_env",
]
