"""A blob backend over a local folder: one file per key, written atomically with a hard link.

A write goes to a uniquely named temporary file (``.tmp-<uuid>``) beside its final name and is
then published with ``os.link``, which fails when the final name exists. That makes the
no-overwrite rule race-free across processes, and a writer killed at any point leaves at most
a temporary file, which is never listed as a key.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

from flowtrail.blobs.base import (
    TEMP_PREFIX,
    BlobBackend,
    BytesLike,
    is_valid_key,
    validate_data,
    validate_key,
    validate_prefix,
)
from flowtrail.errors import InvalidArgument, NotFound, StoreUnavailable

__all__ = ["LocalBackend"]

# errno values with which os.link says "this file system has no hard links" (FAT, some FUSE
# and network mounts); only then does a write fall back to os.replace.
_NO_HARD_LINKS = frozenset(
    code
    for code in (
        errno.EPERM,
        errno.ENOSYS,
        getattr(errno, "EOPNOTSUPP", None),
        getattr(errno, "ENOTSUP", None),
    )
    if code is not None
)


class LocalBackend(BlobBackend):
    """Blobs as files under a root folder (``<root>/<key>``).

    Parent folders are created as needed, including the root itself on the first write.
    Writes are atomic: temporary file in the same folder, optional ``fsync``, then a hard link
    to the final name (``os.replace`` after an existence check where hard links are not
    supported; there, two racing writers may both return ``True``, the last one winning).

    Args:
        root: The folder that holds the blobs.
        durable: ``fsync`` each blob and its folder before a write returns, so that it
            survives a power loss, at the cost of write latency.
    """

    def __init__(self, root: str | os.PathLike[str], *, durable: bool = False) -> None:
        path = os.fspath(root) if isinstance(root, str | os.PathLike) else None
        if not isinstance(path, str) or not path:
            raise InvalidArgument(
                f"a local blob store root is a non-empty folder path (str or os.PathLike), "
                f"got {root!r}",
                details={"root": repr(root)},
            )
        self._root = Path(os.path.abspath(path))
        self._durable = durable
        self._closed = False

    @property
    def root(self) -> Path:
        """The absolute path of the root folder."""
        return self._root

    @property
    def url(self) -> str:
        """The root folder as a ``file://`` URL."""
        return self._root.as_uri()

    def path_for(self, key: str) -> Path:
        """Return the file path a key is stored at (whether or not it exists).

        Raises:
            InvalidArgument: ``key`` is malformed.
        """
        return self._root.joinpath(*validate_key(key).split("/"))

    def read(self, key: str) -> bytes:
        """Return the bytes stored under ``key``; see :meth:`BlobBackend.read`."""
        path = self._open_path(key)
        try:
            with open(path, "rb") as file:
                return file.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound(
                f"no blob under key {key!r} in {self.url} (expected a file at {path})",
                details={"key": key},
            ) from exc
        except OSError as exc:
            raise self._unavailable("read", path, exc) from exc

    def write(self, key: str, data: BytesLike) -> bool:
        """Store ``data`` under ``key`` unless it exists; see :meth:`BlobBackend.write`."""
        path = self._open_path(key)
        data = validate_data(data)
        if self._is_file(path):
            return False
        self._make_parents(key, path)
        tmp = path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}")
        try:
            self._write_temp(tmp, data)
            return self._publish(key, tmp, path)
        finally:
            # The temporary name is unique to this call; once linked (or failed) it is garbage.
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def exists(self, key: str) -> bool:
        """Return whether a blob is stored under ``key``; see :meth:`BlobBackend.exists`."""
        return self._is_file(self._open_path(key))

    def delete(self, key: str) -> bool:
        """Remove the blob under ``key``; see :meth:`BlobBackend.delete`."""
        path = self._open_path(key)
        if not self._is_file(path):
            return False
        try:
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError):
            return False  # removed by someone else since the check
        except OSError as exc:
            raise self._unavailable("delete", path, exc) from exc
        return True

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys starting with ``prefix``; see :meth:`BlobBackend.list_keys`."""
        self._ensure_open()
        validate_prefix(prefix)
        folder, _, _ = prefix.rpartition("/")
        start = self._root.joinpath(*folder.split("/")) if folder else self._root
        return self._walk(start, prefix)

    def close(self) -> None:
        """Mark the backend closed; it holds no open resources between calls."""
        self._closed = True

    def __repr__(self) -> str:
        return f"LocalBackend({str(self._root)!r}, durable={self._durable})"

    # -- helpers ---------------------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"the blob backend at {self.url} is closed")

    def _open_path(self, key: str) -> Path:
        self._ensure_open()
        return self.path_for(key)

    def _unavailable(self, action: str, path: Path, exc: OSError) -> StoreUnavailable:
        return StoreUnavailable(
            f"could not {action} {path} in the blob folder {self._root}: {exc}",
            details={"path": str(path)},
        )

    def _is_file(self, path: Path) -> bool:
        try:
            return stat.S_ISREG(os.stat(path).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            raise self._unavailable("inspect", path, exc) from exc

    def _make_parents(self, key: str, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            # A file sits where a folder is needed: is it a blob (a key problem) or is the
            # root itself not a folder (a store problem)?
            parts = key.split("/")
            for depth in range(1, len(parts)):
                ancestor = "/".join(parts[:depth])
                if self._is_file(self._root.joinpath(*parts[:depth])):
                    raise InvalidArgument(
                        f"key {key!r} needs {ancestor!r} to be a folder, but a blob is stored "
                        f"under {ancestor!r} in {self.url}",
                        details={"key": key, "blob": ancestor},
                    ) from exc
            raise self._unavailable("create the folder", path.parent, exc) from exc
        except OSError as exc:
            raise self._unavailable("create the folder", path.parent, exc) from exc

    def _write_temp(self, tmp: Path, data: bytes) -> None:
        try:
            with open(tmp, "xb") as file:
                file.write(data)
                if self._durable:
                    file.flush()
                    os.fsync(file.fileno())
        except OSError as exc:
            raise self._unavailable("write", tmp, exc) from exc

    def _publish(self, key: str, tmp: Path, path: Path) -> bool:
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            if self._is_file(path):
                return False
            raise InvalidArgument(
                f"key {key!r} is a folder of other blobs in {self.url}, it cannot hold a blob",
                details={"key": key},
            ) from exc
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise self._unavailable("link", path, exc) from exc
            if self._is_file(path):
                return False
            try:
                os.replace(tmp, path)
            except OSError as replace_exc:
                raise self._unavailable("rename", path, replace_exc) from replace_exc
        if self._durable:
            self._sync_folder(path.parent)
        return True

    def _sync_folder(self, folder: Path) -> None:
        # The new directory entry must reach the disk too, or a crash can lose the file.
        if not hasattr(os, "O_DIRECTORY"):
            return  # Windows cannot open a folder to fsync it
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._unavailable("sync the folder", folder, exc) from exc

    def _walk(self, start: Path, prefix: str) -> Iterator[str]:
        def fail(exc: OSError) -> None:
            if isinstance(exc, FileNotFoundError | NotADirectoryError):
                return  # nothing stored under this prefix (yet)
            raise self._unavailable("list", Path(exc.filename or start), exc) from exc

        for folder, dirnames, filenames in os.walk(start, onerror=fail):
            relative = Path(folder).relative_to(self._root).as_posix()
            base = "" if relative == "." else f"{relative}/"
            # Prune folders that cannot hold keys under the prefix, so a listing of
            # "blobs/ab" does not walk every other "blobs/xx" folder.
            dirnames[:] = [
                name
                for name in dirnames
                if not name.startswith(TEMP_PREFIX)
                and (prefix.startswith(f"{base}{name}/") or f"{base}{name}/".startswith(prefix))
            ]
            for name in filenames:
                key = f"{base}{name}"
                if name.startswith(TEMP_PREFIX) or not key.startswith(prefix):
                    continue
                if is_valid_key(key):
                    yield key
