"""The content-addressed blob store: bytes in, a sha256 out, the same bytes back, verified.

Stored format: one header byte, then the payload. ``0x00`` is followed by the bytes as given;
``0x01`` by one zstandard frame, used when the data is at least ``compress_threshold`` bytes
long and the frame is smaller than the data. The key is the sha256 (hex) of the stored bytes,
header included, laid out as ``blobs/<sha[:2]>/<sha>``. Compression is deterministic (one
thread, fixed level, no dictionary), so the same data gives the same stored bytes and the
same sha, and storing it twice keeps one copy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from types import TracebackType

import zstandard

from flowtrail.blobs.base import BlobBackend, BytesLike, validate_data
from flowtrail.blobs.cache import CachingBackend
from flowtrail.errors import BlobCorrupted, InvalidArgument, NotFound

__all__ = ["HEADER_RAW", "HEADER_ZSTD", "BlobRef", "BlobStore", "blob_key"]

#: Header byte of a blob stored as given.
HEADER_RAW = b"\x00"
#: Header byte of a blob stored as one zstandard frame.
HEADER_ZSTD = b"\x01"

_SHA = re.compile(r"[0-9a-f]{64}")


def _check_sha(sha: str) -> str:
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise InvalidArgument(
            f"a blob sha is 64 lowercase hexadecimal characters (a sha256), got {sha!r}",
            details={"sha": repr(sha)},
        )
    return sha


def blob_key(sha: str) -> str:
    """Return the backend key of the blob with this sha: ``blobs/<sha[:2]>/<sha>``.

    Raises:
        InvalidArgument: ``sha`` is not 64 lowercase hexadecimal characters.
    """
    _check_sha(sha)
    return f"blobs/{sha[:2]}/{sha}"


@dataclass(frozen=True, slots=True)
class BlobRef:
    """What :meth:`BlobStore.put` stored.

    Attributes:
        sha: sha256 (hex) of the stored bytes; the blob's identity.
        size: Length of the data as given (uncompressed).
        stored_size: Length of the stored bytes, header included.
        compressed: Whether the payload is a zstandard frame.
        created: ``False`` when an identical blob was stored already (deduplicated).
    """

    sha: str
    size: int
    stored_size: int
    compressed: bool
    created: bool


class BlobStore:
    """Content-addressed, verified, optionally compressed blobs over a :class:`BlobBackend`.

    Args:
        backend: Where the stored bytes go.
        compress_threshold: Data at least this long is compressed when that makes it smaller.
        level: zstandard compression level, 1 to 22. Changing it changes the stored bytes
            (and so the sha) of compressed blobs: identical data written at two levels is
            stored twice.

    Raises:
        InvalidArgument: ``compress_threshold`` is negative or ``level`` out of range.
    """

    def __init__(
        self, backend: BlobBackend, *, compress_threshold: int = 4096, level: int = 3
    ) -> None:
        if isinstance(compress_threshold, bool) or not isinstance(compress_threshold, int):
            raise InvalidArgument(
                f"compress_threshold must be an int, got {compress_threshold!r}",
                details={"compress_threshold": repr(compress_threshold)},
            )
        if compress_threshold < 0:
            raise InvalidArgument(
                f"compress_threshold must be >= 0, got {compress_threshold}",
                details={"compress_threshold": compress_threshold},
            )
        max_level = zstandard.MAX_COMPRESSION_LEVEL
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= max_level:
            raise InvalidArgument(
                f"level must be an int from 1 to {max_level}, got {level!r}",
                details={"level": repr(level)},
            )
        self._backend = backend
        self._threshold = compress_threshold
        self._level = level

    @property
    def backend(self) -> BlobBackend:
        """The backend the stored bytes live in."""
        return self._backend

    @property
    def url(self) -> str:
        """Where the blobs are stored (the backend's URL)."""
        return self._backend.url

    def put(self, data: BytesLike) -> BlobRef:
        """Store ``data`` (once: identical data is deduplicated) and return its reference.

        Args:
            data: The bytes to store; ``bytearray`` and ``memoryview`` are accepted too.

        Returns:
            The blob's reference; ``created`` is ``False`` when it was stored already.

        Raises:
            InvalidArgument: ``data`` is not bytes-like.
            StoreUnavailable: The backend failed.
        """
        raw = validate_data(data)
        stored = self._encode(raw)
        sha = hashlib.sha256(stored).hexdigest()
        created = self._backend.write(blob_key(sha), stored)
        return BlobRef(
            sha=sha,
            size=len(raw),
            stored_size=len(stored),
            compressed=stored[:1] == HEADER_ZSTD,
            created=created,
        )

    def get(self, sha: str) -> bytes:
        """Return the data stored under ``sha``, after checking that it hashes to ``sha``.

        Over a :class:`~flowtrail.blobs.CachingBackend`, bytes that do not hash to ``sha`` may
        be a damaged local copy: the cached copy is dropped (:meth:`CachingBackend.evict`) and
        the blob is read once more, from the remote, which caches it again. Only when that
        copy is bad too is the blob corrupted; if the remote no longer holds it, ``NotFound``.

        Raises:
            InvalidArgument: ``sha`` is not 64 lowercase hexadecimal characters.
            NotFound: No blob with that sha is stored.
            BlobCorrupted: The stored bytes do not hash to ``sha`` or cannot be decoded;
                corrupted data is never returned.
            StoreUnavailable: The backend failed.
        """
        key = blob_key(sha)
        stored = self._read(sha, key)
        actual = hashlib.sha256(stored).hexdigest()
        if actual != sha and isinstance(self._backend, CachingBackend):
            # The remote is the source of truth; only its copy can prove the blob corrupted.
            self._backend.evict(key)
            stored = self._read(sha, key)
            actual = hashlib.sha256(stored).hexdigest()
        if actual != sha:
            raise BlobCorrupted(
                f"blob {sha} in {self._backend.url} is corrupted: its stored bytes hash to "
                f"{actual} ({len(stored)} bytes at key {key!r})",
                details={"sha": sha, "actual_sha": actual},
            )
        return self._decode(sha, stored)

    def has(self, sha: str) -> bool:
        """Return whether a blob with this sha is stored (its bytes are not verified).

        Raises:
            InvalidArgument: ``sha`` is not 64 lowercase hexadecimal characters.
            StoreUnavailable: The backend failed.
        """
        return self._backend.exists(blob_key(sha))

    def close(self) -> None:
        """Close the backend; idempotent."""
        self._backend.close()

    def __enter__(self) -> BlobStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"BlobStore({self._backend!r}, compress_threshold={self._threshold}, "
            f"level={self._level})"
        )

    def _read(self, sha: str, key: str) -> bytes:
        try:
            return self._backend.read(key)
        except NotFound as exc:
            raise NotFound(
                f"no blob with sha {sha} in {self._backend.url} (looked for key {key!r})",
                details={"sha": sha},
            ) from exc

    def _encode(self, raw: bytes) -> bytes:
        if len(raw) >= self._threshold:
            # A fresh single-threaded compressor per call: deterministic output, and
            # ZstdCompressor instances must not be shared between threads.
            frame = zstandard.ZstdCompressor(
                level=self._level, write_content_size=True, write_checksum=False, threads=0
            ).compress(raw)
            if len(frame) < len(raw):
                return HEADER_ZSTD + frame
        return HEADER_RAW + raw

    def _decode(self, sha: str, stored: bytes) -> bytes:
        header, payload = stored[:1], stored[1:]
        if header == HEADER_RAW:
            return payload
        if header == HEADER_ZSTD:
            decompressor = zstandard.ZstdDecompressor().decompressobj()
            try:
                data = decompressor.decompress(payload)
            except zstandard.ZstdError as exc:
                raise BlobCorrupted(
                    f"blob {sha} in {self._backend.url} holds a broken zstandard frame: {exc}",
                    details={"sha": sha},
                ) from exc
            if not decompressor.eof or decompressor.unused_data:
                raise BlobCorrupted(
                    f"blob {sha} in {self._backend.url} holds a truncated zstandard frame or "
                    f"bytes after it (expected exactly one complete frame)",
                    details={"sha": sha},
                )
            return data
        raise BlobCorrupted(
            f"blob {sha} in {self._backend.url} starts with header {header!r}, expected "
            f"{HEADER_RAW!r} (raw) or {HEADER_ZSTD!r} (zstandard)",
            details={"sha": sha, "header": header.hex()},
        )
