"""Open a blob store from a URL: the scheme picks the backend from one literal table."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from flowtrail.blobs.base import BlobBackend
from flowtrail.blobs.cache import CachingBackend
from flowtrail.blobs.cas import BlobStore
from flowtrail.blobs.fsspec_backend import FsspecBackend
from flowtrail.blobs.local import LocalBackend
from flowtrail.errors import InvalidArgument

__all__ = ["SUPPORTED_SCHEMES", "open_blob_store"]


def _open_local(url: str, options: dict[str, Any]) -> BlobBackend:
    durable = options.pop("durable", False)
    if options:
        raise InvalidArgument(
            f"unexpected options {sorted(options)} for the local blob store {url!r}; a local "
            f"folder takes durable, compress_threshold and level",
            details={"options": sorted(options)},
        )
    if not isinstance(durable, bool):
        raise InvalidArgument(f"durable must be a bool, got {durable!r}")
    path = url
    if url.startswith("file://"):
        host, slash, rest = url[len("file://") :].partition("/")
        if host.lower() not in ("", "localhost"):
            # A host names another machine (a network share); reading it as a relative
            # path would quietly store the blobs somewhere else.
            shown = host.rpartition("@")[2]  # never show credentials
            raise InvalidArgument(
                f"a file:// URL must name a folder on this machine: write "
                f"file:///absolute/path (three slashes), got host {shown!r}",
                details={"host": shown},
            )
        path = unquote(slash + rest)
    if not path:
        raise InvalidArgument(f"a local blob store needs a folder path, got {url!r}")
    return LocalBackend(path, durable=durable)


def _open_fsspec(url: str, options: dict[str, Any]) -> BlobBackend:
    if "durable" in options:
        raise InvalidArgument(
            f"the option durable applies to local folders only, not to {url!r} "
            f"(object stores make every PUT durable)",
            details={"option": "durable"},
        )
    return FsspecBackend(url, **options)


def _open_http(url: str, options: dict[str, Any]) -> BlobBackend:
    # httpx loads only when a service is used for blobs.
    from flowtrail.blobs.http_backend import connect_http_blobs
    from flowtrail.store.http import RetryPolicy

    token = options.pop("token", None)
    timeout = options.pop("timeout", 60.0)
    retry_seconds = options.pop("retry_seconds", None)
    if options:
        raise InvalidArgument(
            f"unexpected options {sorted(options)} for blobs through the flowtrail service; "
            f"it takes token, timeout, retry_seconds, cache_dir, compress_threshold and level",
            details={"options": sorted(options)},
        )
    retry = None
    if retry_seconds is not None:
        # Options travel to worker processes as text (RunContext.blob_options).
        try:
            seconds = float(retry_seconds)
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"retry_seconds is a number of seconds, got {retry_seconds!r:.40}"
            ) from None
        retry = RetryPolicy(total_seconds=seconds)
    return connect_http_blobs(url, token=token, timeout=timeout, retry=retry)


# Scheme -> factory. Only file systems whose single PUT is atomic (object stores) and memory
# are listed: the backend contract promises that no reader sees a partial blob.
_FACTORIES: dict[str, Callable[[str, dict[str, Any]], BlobBackend]] = {
    "": _open_local,
    "file": _open_local,
    "memory": _open_fsspec,
    "s3": _open_fsspec,
    "s3a": _open_fsspec,
    "gs": _open_fsspec,
    "gcs": _open_fsspec,
    "az": _open_fsspec,
    "abfs": _open_fsspec,
    "abfss": _open_fsspec,
    "http": _open_http,
    "https": _open_http,
}

#: The URL schemes :func:`open_blob_store` accepts (a plain path has no scheme).
SUPPORTED_SCHEMES: tuple[str, ...] = tuple(scheme for scheme in _FACTORIES if scheme)


def open_blob_store(url: str | os.PathLike[str], **options: Any) -> BlobStore:
    """Open the content-addressed blob store at ``url``.

    Schemes: a plain path or ``file:///absolute/path`` (``file://localhost/absolute/path``
    too) opens a :class:`~flowtrail.blobs.LocalBackend`;
    ``memory://``, ``s3://``, ``s3a://``, ``gs://``, ``gcs://``, ``az://``, ``abfs://`` and
    ``abfss://`` open an :class:`~flowtrail.blobs.FsspecBackend`; ``http://`` and
    ``https://`` (a flowtrail service) open an
    :class:`~flowtrail.blobs.http_backend.HttpBlobBackend` (options ``token``,
    ``timeout`` and ``retry_seconds``, how long each call keeps trying; needs the
    ``service`` extra).

    Args:
        url: Where the blobs live.
        **options: ``compress_threshold`` and ``level`` go to :class:`BlobStore`;
            ``cache_dir`` (remote stores only) wraps the backend in a
            :class:`~flowtrail.blobs.CachingBackend` caching in that folder; ``durable``
            (local folders only) goes to ``LocalBackend``; anything else goes to fsspec as
            storage options (credentials, endpoint, ...).

    Returns:
        The blob store; close it when done (it is also a context manager).

    Raises:
        InvalidArgument: The scheme is not supported (the message lists the supported ones),
            a ``file://`` URL names a host other than ``localhost`` (a network share), or an
            option does not apply.
        StoreUnavailable: The backend's driver is missing or the store cannot be reached.
    """
    text = os.fspath(url) if isinstance(url, str | os.PathLike) else None
    if not isinstance(text, str) or not text:
        raise InvalidArgument(
            f"a blob store URL is a folder path or 'scheme://location', got {url!r}",
            details={"url": repr(url)},
        )
    scheme = ""
    if "://" in text:
        given_scheme, location = text.split("://", 1)
        scheme = given_scheme.lower()  # schemes are case-insensitive (RFC 3986)
        text = f"{scheme}://{location}"
    factory = _FACTORIES.get(scheme)
    if factory is None:
        supported = ", ".join(f"{name}://" for name in SUPPORTED_SCHEMES)
        raise InvalidArgument(
            # The URL itself is left out: it may carry a password.
            f"unsupported blob store scheme {scheme!r}; supported: a folder path, {supported}",
            details={"scheme": scheme, "supported": list(SUPPORTED_SCHEMES)},
        )
    rest = dict(options)
    store_options = {
        name: rest.pop(name) for name in ("compress_threshold", "level") if name in rest
    }
    cache_dir = rest.pop("cache_dir", None)
    if cache_dir is not None and factory is _open_local:
        raise InvalidArgument(
            f"cache_dir applies to remote blob stores only; {text!r} is a local folder already",
            details={"option": "cache_dir"},
        )
    backend = factory(text, rest)
    if cache_dir is not None:
        backend = CachingBackend(backend, LocalBackend(cache_dir))
    try:
        return BlobStore(backend, **store_options)
    except BaseException:
        backend.close()
        raise
