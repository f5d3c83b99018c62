"""Workflows recorded in a folder of each test's own (the embedded default: ``.flowtrail``
there), run in this process or in real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowtrail.config import Settings, resolve_settings


class Project:
    """A folder, its settings, and scripts run there as subprocesses."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.settings: Settings = resolve_settings(env={}, cwd=path)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRAIL_")}
        self.env["XDG_CONFIG_HOME"] = str(path / ".config")
        self.env["PYTHONUNBUFFERED"] = "1"

    def write(self, name: str, code: str) -> Path:
        file = self.path / name
        file.write_text(textwrap.dedent(code))
        return file

    def python(self, name: str, code: str, timeout: float = 120) -> Any:
        """Run ``code`` as the script ``name`` to its end."""
        file = self.write(name, code)
        return subprocess.run(
            [sys.executable, str(file)],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, name: str, code: str) -> subprocess.Popen[str]:
        file = self.write(name, code)
        return subprocess.Popen(
            [sys.executable, str(file)],
            cwd=self.path,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def cli(self, *args: str) -> Any:
        return subprocess.run(
            [str(Path(sys.executable).parent / "flowtrail"), *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def count(self, name: str) -> int:
        """How many lines a task appended to the file ``name`` (its executions)."""
        file = self.path / name
        return len(file.read_text().splitlines()) if file.exists() else 0


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)
