"""The code package of a run: the flow file and the Python files beside it, as one tarball."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from flowtrail.blobs import BlobStore
from flowtrail.model import CodePackage

__all__ = ["MAX_PACKAGE_BYTES", "build_code_package"]

#: Files beside the flow are packaged up to this total size (the flow file always is).
MAX_PACKAGE_BYTES = 20 * 1024 * 1024


def build_code_package(flow_file: Path, blobs: BlobStore) -> CodePackage:
    """Pack ``flow_file`` and the ``*.py`` files of its folder into a gzip tarball blob.

    Paths in the tarball are relative to the flow's folder; the files are read once, sorted
    by name, with fixed times so the same code gives the same blob.
    """
    flow_file = flow_file.resolve()
    folder = flow_file.parent
    files = [flow_file]
    total = flow_file.stat().st_size
    for path in sorted(folder.glob("*.py")):
        if path == flow_file or not path.is_file():
            continue
        size = path.stat().st_size
        if total + size > MAX_PACKAGE_BYTES:
            continue
        files.append(path)
        total += size
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for path in sorted(files):
            data = path.read_bytes()
            info = tarfile.TarInfo(os.path.relpath(path, folder))
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    ref = blobs.put(buffer.getvalue())
    return CodePackage(
        sha=ref.sha,
        script_name=flow_file.name,
        info={
            "script": flow_file.name,
            "files": sorted(os.path.relpath(p, folder) for p in files),
            "size": ref.size,
            "location": str(folder),
        },
    )
