"""``Code``: the code package a run executed, a gzip tarball in the blob store."""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flowtrail.errors import BlobCorrupted, NotFound
from flowtrail.model import CodePackage

if TYPE_CHECKING:
    from flowtrail.client.provider import Provider

__all__ = ["Code"]


class Code:
    """The code package of a run (``Run.code``, ``Task.code``): the flow file and the Python
    files beside it, as recorded when the run started.

    The tarball is read from the blob store once, when first needed.

    Args:
        package: The run's code package record.
        provider: The provider whose blob store holds the tarball.
    """

    def __init__(self, package: CodePackage, provider: Provider) -> None:
        self._package = package
        self._provider = provider
        self._bytes: bytes | None = None

    @property
    def sha(self) -> str:
        """The blob key of the tarball."""
        return self._package.sha

    @property
    def path(self) -> str:
        """Where the tarball is in the blob store: ``<blob store>/blobs/<sha[:2]>/<sha>``."""
        from flowtrail.blobs import blob_key

        return f"{self._provider.blobs.url.rstrip('/')}/{blob_key(self._package.sha)}"

    @property
    def info(self) -> dict[str, Any]:
        """Facts about the package recorded with it (creation time, files, versions)."""
        return dict(self._package.info)

    @property
    def script_name(self) -> str:
        """The file holding the flow, relative to the package root (``'flow.py'``)."""
        return self._package.script_name

    def _data(self) -> bytes:
        if self._bytes is None:
            self._bytes = self._provider.blobs.get(self._package.sha)
        return self._bytes

    @property
    def tarball(self) -> tarfile.TarFile:
        """The package as an open :class:`tarfile.TarFile` (read from memory)."""
        try:
            return tarfile.open(fileobj=io.BytesIO(self._data()), mode="r:*")
        except tarfile.TarError as exc:
            raise BlobCorrupted(
                f"the code package {self._package.sha} is not a readable tarball: {exc}",
                details={"sha": self._package.sha},
            ) from exc

    @property
    def flowspec(self) -> str:
        """The source text of the flow file.

        Raises:
            NotFound: the package holds no file named :attr:`script_name`.
        """
        with self.tarball as tar:
            try:
                member = tar.extractfile(self._package.script_name)
            except KeyError:
                member = None
            if member is None:
                raise NotFound(
                    f"the code package {self._package.sha} holds no file "
                    f"{self._package.script_name!r}; it holds {tar.getnames()}",
                    details={"script_name": self._package.script_name},
                )
            return member.read().decode("utf-8")

    @contextmanager
    def extract(self) -> Iterator[str]:
        """Extract the package into a temporary folder, removed on leaving the block.

        Yields:
            The folder's path.
        """
        with tempfile.TemporaryDirectory(prefix="flowtrail-code-") as folder, self.tarball as tar:
            # The "data" filter refuses absolute paths, links out of the folder and devices.
            tar.extractall(folder, filter="data")
            yield folder

    def __repr__(self) -> str:
        return f"Code({self._package.script_name!r}, sha={self._package.sha[:12]!r})"
