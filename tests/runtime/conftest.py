"""Real runs in subprocesses: each test gets a folder with the example flows and its own
embedded history (``.flowtrail`` in that folder)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowtrail.blobs import BlobStore, deserialize, open_blob_store
from flowtrail.model import LogStream, PageRequest, Pathspec, RunRecord, TaskRecord
from flowtrail.store import MetadataStore, open_store

FLOWS = Path(__file__).parent / "flows"


class Project:
    """A folder holding the example flows, and the history their runs record there."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRAIL_")}
        self.env["XDG_CONFIG_HOME"] = str(path / ".config")
        self.env["PYTHONUNBUFFERED"] = "1"
        self._store: MetadataStore | None = None
        self._blobs: BlobStore | None = None

    def command(self, flow: str, *args: str) -> list[str]:
        return [sys.executable, str(self.path / f"{flow}.py"), *args]

    def run(self, flow: str, *args: str, timeout: float = 300, **env: str) -> Any:
        """Run ``python <flow>.py <args>`` to its end; returns the completed process."""
        return subprocess.run(
            self.command(flow, *args),
            cwd=self.path,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, flow: str, *args: str, **env: str) -> subprocess.Popen[str]:
        """Start ``python <flow>.py <args>`` without waiting."""
        return subprocess.Popen(
            self.command(flow, *args),
            cwd=self.path,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def store(self) -> MetadataStore:
        if self._store is None:
            self._store = open_store(f"sqlite:///{self.path / '.flowtrail' / 'flowtrail.db'}")
        return self._store

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            self._blobs = open_blob_store(str(self.path / ".flowtrail"))
        return self._blobs

    def runs(self, flow: str) -> list[RunRecord]:
        from flowtrail.model import RunFilter

        return list(self.store.find_runs(RunFilter(flow), PageRequest(1000)))

    def latest(self, flow: str) -> RunRecord:
        return self.runs(flow)[0]

    def tasks(self, run: Pathspec) -> list[TaskRecord]:
        found: list[TaskRecord] = []
        request: PageRequest | None = PageRequest(1000)
        while request is not None:
            page = self.store.find_tasks(run, request)
            found.extend(page.items)
            request = page.next_request()
        return found

    def artifacts(self, task: Pathspec, attempt: int | None = None) -> dict[str, Any]:
        return {
            a.pathspec.artifact: deserialize(self.blobs.get(a.sha), a.encoding)
            for a in self.store.find_artifacts(task, PageRequest(1000), attempt=attempt)
        }

    def log(self, task: Pathspec, attempt: int = 0, stream: str = "stdout") -> list[str]:
        lines = self.store.read_log_lines(task, attempt=attempt, stream=LogStream(stream))
        return [line.text for line in lines]

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
        if self._blobs is not None:
            self._blobs.close()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    for flow in FLOWS.glob("*.py"):
        shutil.copy(flow, tmp_path / flow.name)
    proj = Project(tmp_path)
    yield proj
    proj.close()
