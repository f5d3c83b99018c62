"""The content-addressed blob store: artifacts, logs and code packages as immutable bytes.

Three layers, each replaceable on its own:

* :class:`BlobBackend` stores bytes by key (:class:`LocalBackend` for a folder,
  :class:`FsspecBackend` for S3 and other fsspec URLs, :class:`CachingBackend` to keep local
  copies of a remote);
* :class:`BlobStore` addresses blobs by the sha256 of their stored bytes, compresses them
  with zstandard and verifies them on every read;
* :func:`serialize` / :func:`deserialize` turn Python objects into bytes and back.

:func:`open_blob_store` builds a store from a URL.
"""

from __future__ import annotations

from flowtrail.blobs.base import BlobBackend, BytesLike, validate_key, validate_prefix
from flowtrail.blobs.cache import CachingBackend
from flowtrail.blobs.cas import BlobRef, BlobStore, blob_key
from flowtrail.blobs.fsspec_backend import FsspecBackend
from flowtrail.blobs.local import LocalBackend
from flowtrail.blobs.open import SUPPORTED_SCHEMES, open_blob_store
from flowtrail.blobs.serialize import Encoding, Serialized, deserialize, serialize

__all__ = [
    "SUPPORTED_SCHEMES",
    "BlobBackend",
    "BlobRef",
    "BlobStore",
    "BytesLike",
    "CachingBackend",
    "Encoding",
    "FsspecBackend",
    "LocalBackend",
    "Serialized",
    "blob_key",
    "deserialize",
    "open_blob_store",
    "serialize",
    "validate_key",
    "validate_prefix",
]
