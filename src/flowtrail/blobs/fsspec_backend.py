"""A blob backend over any fsspec file system: object stores (S3, GCS, Azure) and memory.

A write is one ``pipe_file`` call, which object stores perform as a single PUT: readers see
the whole object or nothing. The no-overwrite rule is an existence check before the PUT; two
writers racing on the same key may both store it (the last PUT wins), which is harmless for
content-addressed keys whose bytes are identical by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flowtrail.blobs.base import (
    BlobBackend,
    BytesLike,
    is_valid_key,
    validate_data,
    validate_key,
    validate_prefix,
)
from flowtrail.config.spec import mask_password
from flowtrail.errors import FlowtrailError, InvalidArgument, NotFound, StoreUnavailable

__all__ = ["FsspecBackend"]

# What to install for a protocol whose fsspec implementation is missing. Protocols not listed
# get fsspec's own hint.
_INSTALL_HINTS: dict[str, str] = {
    "s3": "pip install 'flowtrail[s3]'",
    "s3a": "pip install 'flowtrail[s3]'",
    "gs": "pip install gcsfs",
    "gcs": "pip install gcsfs",
    "az": "pip install adlfs",
    "abfs": "pip install adlfs",
    "abfss": "pip install adlfs",
}


class FsspecBackend(BlobBackend):
    """Blobs as objects under a URL of an fsspec file system (``<url>/<key>``).

    Args:
        url: Where the blobs live, with protocol: ``s3://bucket/prefix``,
            ``memory://name``. S3 needs the optional extra ``flowtrail[s3]``.
        **storage_options: Passed to the fsspec file system (credentials, endpoint, ...).

    Raises:
        InvalidArgument: The protocol is unknown to fsspec or the options are not accepted.
        StoreUnavailable: The protocol's implementation is not installed, or the file system
            could not be set up.
    """

    def __init__(self, url: str, **storage_options: Any) -> None:
        if not isinstance(url, str) or "://" not in url:
            raise InvalidArgument(
                f"an fsspec blob store URL looks like 'protocol://location', got {url!r}",
                details={"url": repr(url)},
            )
        self._url = mask_password(url)
        protocol = url.split("://", 1)[0]
        try:
            import fsspec  # 30 ms of imports: paid only by those who use a remote store

            fs, root = fsspec.core.url_to_fs(url, **storage_options)
        except ImportError as exc:
            hint = _INSTALL_HINTS.get(protocol, str(exc))
            raise StoreUnavailable(
                f"the blob store {self._url} needs the fsspec implementation of "
                f"{protocol!r}, which is not installed: {hint}",
                details={"url": self._url, "protocol": protocol},
            ) from exc
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(
                f"fsspec cannot open {self._url} with options {sorted(storage_options)}: {exc}",
                details={"url": self._url},
            ) from exc
        except Exception as exc:
            # Implementations raise their own errors while connecting (botocore, aiohttp, ...).
            raise StoreUnavailable(
                f"could not open the blob store {self._url}: {type(exc).__name__}: {exc}",
                details={"url": self._url},
            ) from exc
        self._fs: Any = fs
        self._root: str = str(root).rstrip("/")
        self._closed = False

    @property
    def url(self) -> str:
        """The URL given to the constructor, without a password."""
        return self._url

    def read(self, key: str) -> bytes:
        """Return the bytes stored under ``key``; see :meth:`BlobBackend.read`."""
        path = self._path(key)
        with self._translate("read", key):
            data = self._fs.cat_file(path)
        return bytes(data)

    def write(self, key: str, data: BytesLike) -> bool:
        """Store ``data`` under ``key`` unless it exists; see :meth:`BlobBackend.write`."""
        path = self._path(key)
        data = validate_data(data)
        kind = self._kind(key, path)
        if kind == "file":
            return False
        if kind is not None:
            raise InvalidArgument(
                f"key {key!r} is a folder of other blobs in {self._url}, it cannot hold a blob",
                details={"key": key},
            )
        with self._translate("write", key):
            try:
                self._fs.pipe_file(path, data)
            except (FileExistsError, NotADirectoryError) as exc:
                # A file system with real folders (memory) cannot put a folder where a blob
                # is: a key problem, not a store problem. Object stores do not notice it.
                blob = self._blob_ancestor(key)
                if blob is None:
                    raise
                raise InvalidArgument(
                    f"key {key!r} needs {blob!r} to be a folder, but a blob is stored under "
                    f"{blob!r} in {self._url}",
                    details={"key": key, "blob": blob},
                ) from exc
        return True

    def exists(self, key: str) -> bool:
        """Return whether a blob is stored under ``key``; see :meth:`BlobBackend.exists`."""
        return self._kind(key, self._path(key)) == "file"

    def delete(self, key: str) -> bool:
        """Remove the blob under ``key``; see :meth:`BlobBackend.delete`."""
        path = self._path(key)
        if self._kind(key, path) != "file":
            return False
        try:
            with self._translate("delete", key):
                self._fs.rm_file(path)
        except NotFound:
            return False  # removed by someone else since the check
        return True

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys starting with ``prefix``; see :meth:`BlobBackend.list_keys`."""
        self._ensure_open()
        validate_prefix(prefix)
        folder = prefix.rpartition("/")[0]
        return self._find(self._join(folder) if folder else self._root, prefix)

    def close(self) -> None:
        """Mark the backend closed; the fsspec file system instance is shared, not closed."""
        self._closed = True

    def __repr__(self) -> str:
        return f"FsspecBackend({self._url!r})"

    # -- helpers ---------------------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"the blob backend at {self._url} is closed")

    def _join(self, relative: str) -> str:
        return f"{self._root}/{relative}" if self._root else relative

    def _path(self, key: str) -> str:
        self._ensure_open()
        return self._join(validate_key(key))

    def _blob_ancestor(self, key: str) -> str | None:
        """Return the first key that is a blob and also a folder of ``key``, if there is one."""
        parts = key.split("/")
        for depth in range(1, len(parts)):
            ancestor = "/".join(parts[:depth])
            if self._kind(ancestor, self._join(ancestor)) == "file":
                return ancestor
        return None

    def _kind(self, key: str, path: str) -> str | None:
        """Return ``"file"``, another fsspec type (``"directory"``) or None when absent."""
        try:
            with self._translate("inspect", key):
                info = self._fs.info(path)
        except NotFound:
            return None
        return str(info.get("type", "file"))

    @contextmanager
    def _translate(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except FlowtrailError:
            raise
        except FileNotFoundError as exc:
            raise NotFound(
                f"no blob under key {key!r} in {self._url}", details={"key": key}
            ) from exc
        except Exception as exc:
            # fsspec implementations raise OSError subclasses but also their client's own
            # errors (botocore, aiohttp); none may leave the backend untranslated.
            raise StoreUnavailable(
                f"could not {action} key {key!r} in {self._url}: {type(exc).__name__}: {exc}",
                details={"key": key, "url": self._url},
            ) from exc

    def _find(self, start: str, prefix: str) -> Iterator[str]:
        with self._translate("list", prefix):
            try:
                paths = self._fs.find(start, withdirs=False, detail=False)
            except FileNotFoundError:
                paths = []
        root = f"{self._root}/" if self._root else ""
        for path in paths:
            name = str(path).lstrip("/") if not root else str(path)
            if root and not name.startswith(root):
                continue
            key = name[len(root) :]
            if key.startswith(prefix) and is_valid_key(key):
                yield key
