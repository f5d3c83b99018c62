"""The contract every blob backend meets: immutable bytes stored under relative keys.

A :class:`BlobBackend` knows nothing about hashing, compression or serialisation; those live
in :mod:`flowtrail.blobs.cas` and :mod:`flowtrail.blobs.serialize`. The docstrings of the
abstract methods below *are* the contract, and ``tests/contract/test_blob_backends.py`` runs
the same suite against every implementation.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator
from typing import TypeAlias

from flowtrail.errors import InvalidArgument

__all__ = [
    "KEY_PART_PATTERN",
    "TEMP_PREFIX",
    "BlobBackend",
    "BytesLike",
    "is_valid_key",
    "validate_data",
    "validate_key",
    "validate_prefix",
]

#: What blob data may be given as; it is stored (and read back) as ``bytes``.
BytesLike: TypeAlias = bytes | bytearray | memoryview

#: Characters a key part may hold. Kept to a set that needs no quoting in a file name, an
#: fsspec URL or an S3 object name, and that no glob or query syntax reads as special.
KEY_PART_PATTERN = re.compile(r"[A-Za-z0-9._=+@-]+")

#: Key parts may not start with this: backends use it to name temporary files.
TEMP_PREFIX = ".tmp-"

# Longest part that fits in a file name on common file systems (NAME_MAX is 255 bytes).
_MAX_PART = 255


def _check_part(part: str, what: str, given: str) -> None:
    if not part:
        raise InvalidArgument(
            f"{what} must be '/'-separated non-empty parts (like 'blobs/ab/abcd'), got {given!r}",
            details={"key": given},
        )
    if part in {".", ".."}:
        raise InvalidArgument(
            f"{what} may not contain '.' or '..' parts, got {given!r}", details={"key": given}
        )
    if part.startswith(TEMP_PREFIX):
        raise InvalidArgument(
            f"{what} parts may not start with {TEMP_PREFIX!r} (reserved for temporary files), "
            f"got {given!r}",
            details={"key": given},
        )
    if len(part) > _MAX_PART:
        raise InvalidArgument(
            f"{what} parts may be at most {_MAX_PART} characters, got one of {len(part)} "
            f"in {given[:80]!r}...",
            details={"key": given},
        )
    if not KEY_PART_PATTERN.fullmatch(part):
        raise InvalidArgument(
            f"{what} parts may only hold letters, digits and '._=+@-', got {given!r}",
            details={"key": given},
        )


def validate_key(key: str) -> str:
    """Check that ``key`` is a well-formed blob key and return it.

    A key is relative and ``/``-separated (``blobs/ab/abcd...``): no leading ``/``, no empty,
    ``.`` or ``..`` parts, no part starting with ``.tmp-``, each part at most 255 characters of
    letters, digits and ``._=+@-``.

    Args:
        key: The key to check.

    Returns:
        The key, unchanged.

    Raises:
        InvalidArgument: The key is not a string or breaks one of the rules above.
    """
    if not isinstance(key, str):
        raise InvalidArgument(
            f"a blob key must be a str, got {type(key).__name__}: {key!r}",
            details={"key": repr(key)},
        )
    if key.startswith("/"):
        raise InvalidArgument(
            f"a blob key must be relative (no leading '/'), got {key!r}", details={"key": key}
        )
    for part in key.split("/"):
        _check_part(part, "a blob key", key)
    return key


def is_valid_key(key: str) -> bool:
    """Return whether ``key`` passes :func:`validate_key` (listings skip names that do not)."""
    try:
        validate_key(key)
    except InvalidArgument:
        return False
    return True


def validate_prefix(prefix: str) -> str:
    """Check that ``prefix`` can start a key and return it.

    A prefix is a plain string prefix of keys (``"blobs/a"`` matches ``blobs/ab/...``); the empty
    prefix matches every key. Its complete parts follow the key rules; the last part may be
    empty (``"blobs/"``) or partial.

    Args:
        prefix: The prefix to check.

    Returns:
        The prefix, unchanged.

    Raises:
        InvalidArgument: The prefix is not a string or could not start any valid key.
    """
    if not isinstance(prefix, str):
        raise InvalidArgument(
            f"a key prefix must be a str, got {type(prefix).__name__}: {prefix!r}",
            details={"prefix": repr(prefix)},
        )
    if prefix.startswith("/"):
        raise InvalidArgument(
            f"a key prefix must be relative (no leading '/'), got {prefix!r}",
            details={"prefix": prefix},
        )
    *complete, last = prefix.split("/")
    for part in complete:
        _check_part(part, "a key prefix", prefix)
    if last and not KEY_PART_PATTERN.fullmatch(last):
        raise InvalidArgument(
            f"a key prefix may only hold letters, digits and '._=+@-' between '/', got {prefix!r}",
            details={"prefix": prefix},
        )
    return prefix


def validate_data(data: BytesLike) -> bytes:
    """Check that ``data`` is bytes-like and return it as ``bytes``.

    Args:
        data: ``bytes`` (returned as is), ``bytearray`` or ``memoryview`` (copied).

    Returns:
        The data as ``bytes``.

    Raises:
        InvalidArgument: ``data`` is not bytes-like.
    """
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise InvalidArgument(
        f"blob data must be bytes, bytearray or memoryview, got {type(data).__name__}",
        details={"type": type(data).__name__},
    )


class BlobBackend(abc.ABC):
    """Bytes by key: the storage seam under the content-addressed blob store.

    Keys are relative, ``/``-separated strings checked by :func:`validate_key`; a malformed
    key raises :class:`~flowtrail.errors.InvalidArgument` from every method before any I/O.
    Blobs are immutable: a key once written keeps its bytes until it is deleted. A key can
    not also be the folder of other keys (``a`` and ``a/b``); a backend that detects such a
    write raises ``InvalidArgument`` (object stores may not detect it when ``a`` exists first).

    Failures of the underlying storage (I/O errors, network errors, missing drivers) raise
    :class:`~flowtrail.errors.StoreUnavailable` naming the location; no driver exception
    leaves a backend. Once :meth:`close` has been called, every other method raises
    ``StoreUnavailable``.
    """

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """Where the backend stores its blobs (a URL without credentials), for messages."""

    @abc.abstractmethod
    def read(self, key: str) -> bytes:
        """Return the complete bytes stored under ``key``.

        Args:
            key: The blob's key.

        Returns:
            The bytes exactly as written; never a partially written blob.

        Raises:
            NotFound: No blob is stored under ``key``.
            InvalidArgument: ``key`` is malformed.
            StoreUnavailable: The storage failed or the backend is closed.
        """

    @abc.abstractmethod
    def write(self, key: str, data: BytesLike) -> bool:
        """Store ``data`` under ``key`` atomically, unless ``key`` exists already.

        Atomic: a reader sees either no blob or all of ``data``, and a process killed
        mid-write leaves no blob under ``key``. Never overwrites: when ``key`` exists its
        bytes are left untouched and ``False`` is returned, which makes a repeated write
        idempotent.

        Args:
            key: The blob's key.
            data: The bytes to store (may be empty); ``bytearray`` and ``memoryview`` are
                accepted and stored as their bytes.

        Returns:
            ``True`` when this call stored the blob, ``False`` when ``key`` existed already.

        Raises:
            InvalidArgument: ``key`` is malformed, or ``data`` is not bytes-like.
            StoreUnavailable: The storage failed or the backend is closed.
        """

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Return whether a complete blob is stored under ``key``.

        Raises:
            InvalidArgument: ``key`` is malformed.
            StoreUnavailable: The storage failed or the backend is closed.
        """

    @abc.abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the blob stored under ``key``; idempotent.

        Returns:
            ``True`` when a blob was removed, ``False`` when there was none.

        Raises:
            InvalidArgument: ``key`` is malformed.
            StoreUnavailable: The storage failed or the backend is closed.
        """

    @abc.abstractmethod
    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield the key of every stored blob that starts with ``prefix``, in no set order.

        Temporary files of writes in progress (or of killed writers) are never yielded.

        Args:
            prefix: A string prefix of keys (checked by :func:`validate_prefix`); ``""``
                lists every key.

        Raises:
            InvalidArgument: ``prefix`` is malformed (raised by the call itself).
            StoreUnavailable: The storage failed or the backend is closed.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the backend holds; idempotent. The backend is unusable afterwards."""
