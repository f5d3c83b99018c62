"""A blob backend that keeps a local copy of every blob it reads from (or writes to) a remote.

Blobs are immutable, so a cached copy never goes stale while the blob exists: reads are served
from the cache when possible, and the remote is only asked on a miss. A cached copy can still
be damaged on the local disk; whoever can tell (``BlobStore.get``, which checks the sha) drops
it with :meth:`CachingBackend.evict` and reads again, which fetches the remote's copy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flowtrail.blobs.base import BlobBackend, BytesLike, validate_data
from flowtrail.errors import NotFound, StoreUnavailable

__all__ = ["CachingBackend"]

_log = logging.getLogger(__name__)


class CachingBackend(BlobBackend):
    """A remote backend with a read-through, write-through local cache.

    The remote is the source of truth: :meth:`write` and :meth:`list_keys` answer for the
    remote, :meth:`write` stores in the remote before the cache so a blob never lives in the
    cache alone. A cache that fails (a full disk) is logged and bypassed; it never fails a
    read or write that the remote served. A blob deleted from the remote by another process
    can still be read from this cache. The cache is not checked on read: a damaged cached
    copy is returned as it is until :meth:`evict` drops it (:class:`~flowtrail.blobs.BlobStore`
    does so when a blob's bytes do not match its sha, then reads the remote's copy).

    Args:
        remote: Where the blobs live (usually an :class:`~flowtrail.blobs.FsspecBackend`).
        cache: Where local copies are kept (usually a :class:`~flowtrail.blobs.LocalBackend`).
    """

    def __init__(self, remote: BlobBackend, cache: BlobBackend) -> None:
        self._remote = remote
        self._cache = cache
        self._closed = False

    @property
    def remote(self) -> BlobBackend:
        """The backend the blobs live in."""
        return self._remote

    @property
    def cache(self) -> BlobBackend:
        """The backend local copies are kept in."""
        return self._cache

    @property
    def url(self) -> str:
        """The remote's URL: where the blobs live."""
        return self._remote.url

    def read(self, key: str) -> bytes:
        """Return the cached copy, else read the remote and cache the bytes.

        See :meth:`BlobBackend.read`.
        """
        self._ensure_open()
        try:
            return self._cache.read(key)
        except NotFound:
            pass
        except StoreUnavailable as exc:
            _log.warning(
                "blob cache %s unavailable, reading %s remotely: %s", self._cache.url, key, exc
            )
        data = self._remote.read(key)
        self._fill(key, data)
        return data

    def write(self, key: str, data: BytesLike) -> bool:
        """Write to the remote, then to the cache; the result is the remote's.

        See :meth:`BlobBackend.write`.
        """
        self._ensure_open()
        data = validate_data(data)
        created = self._remote.write(key, data)
        self._fill(key, data)
        return created

    def exists(self, key: str) -> bool:
        """Return whether the cache or the remote holds ``key``; see :meth:`BlobBackend.exists`."""
        self._ensure_open()
        try:
            if self._cache.exists(key):
                return True
        except StoreUnavailable as exc:
            _log.warning("blob cache %s unavailable: %s", self._cache.url, exc)
        return self._remote.exists(key)

    def delete(self, key: str) -> bool:
        """Remove ``key`` from the remote and the cache; see :meth:`BlobBackend.delete`.

        Returns:
            ``True`` when either of them held the blob.
        """
        self._ensure_open()
        removed = self._remote.delete(key)
        return self._cache.delete(key) or removed

    def evict(self, key: str) -> bool:
        """Drop the cached copy of ``key``, leaving the remote untouched; idempotent.

        The next :meth:`read` of ``key`` fetches the remote's copy and caches it again. Use it
        when the cached bytes are known to be bad (they do not match their hash).

        Returns:
            ``True`` when a cached copy was removed, ``False`` when there was none.

        Raises:
            InvalidArgument: ``key`` is malformed.
            StoreUnavailable: The cache failed or the backend is closed.
        """
        self._ensure_open()
        return self._cache.delete(key)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield the remote's keys; see :meth:`BlobBackend.list_keys`."""
        self._ensure_open()
        return self._remote.list_keys(prefix)

    def close(self) -> None:
        """Close the remote and the cache; idempotent."""
        self._closed = True
        try:
            self._remote.close()
        finally:
            self._cache.close()

    def __repr__(self) -> str:
        return f"CachingBackend({self._remote!r}, cache={self._cache!r})"

    def _ensure_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"the blob backend at {self.url} is closed")

    def _fill(self, key: str, data: bytes) -> None:
        try:
            self._cache.write(key, data)
        except StoreUnavailable as exc:
            _log.warning("could not cache blob %s in %s: %s", key, self._cache.url, exc)
