"""Real runs for the command-line tests, and ways to run the command line on them.

A :class:`History` is a folder with the test flow and the runs recorded there by the runtime
(in subprocesses, as a user would run them). Tests read it through the client and through the
command line, and compare.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flowtrail.cli import cli
from flowtrail.client import Flow, Provider
from flowtrail.config import resolve_settings
from tests.runtime.conftest import Project

FLOWS = Path(__file__).parent / "flows"
SCRIPT = Path(sys.executable).with_name("flowtrail")


class History(Project):
    """A project folder with the test flows, its runs, and the command line pointed at it."""

    def __init__(self, path: Path) -> None:
        for flow in FLOWS.glob("*.py"):
            shutil.copy(flow, path / flow.name)
        super().__init__(path)
        self.env["COLUMNS"] = "200"  # tables: no folding of pathspecs and times
        self._provider: Provider | None = None

    def record(self, *args: str, ok: bool = True) -> None:
        """Run ``python report.py run <args>``; check that it ended as expected."""
        done = self.run("report", "run", "--quiet", *args)
        assert (done.returncode == 0) is ok, done.stdout + done.stderr

    @property
    def provider(self) -> Provider:
        """A client provider on this history."""
        if self._provider is None:
            home = self.path / ".flowtrail"
            self._provider = Provider(resolve_settings(metadata=f"local@{home}", env={}))
        return self._provider

    def flow(self, name: str = "ReportFlow") -> Flow:
        """The flow through the client, in every namespace."""
        return Flow(name, provider=self.provider, _current_namespace=None)

    def cli(self, *args: str) -> Result:
        """Run the command line in process, with the environment a user in the folder has."""
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("FLOWTRAIL_")}
        env.update(self.env)
        env["FLOWTRAIL_METADATA"] = f"local@{self.path / '.flowtrail'}"
        return CliRunner().invoke(cli, list(args), env=env, prog_name="flowtrail")

    def json(self, *args: str) -> Any:
        """Run a command with ``-o json`` and parse what it printed."""
        result = self.cli(*args, "-o", "json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def script(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run the installed ``flowtrail`` console script in the folder, as a user would."""
        return subprocess.run(
            [str(SCRIPT), *args],
            cwd=self.path,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()
        super().close()


def assert_one_line_error(result: Result) -> str:
    """Check a failure's shape (exit 1, one ``error:`` line, no traceback); return the line."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """Three runs of ReportFlow, shared by the tests of a session (read only):

    1. ``--alpha 0.1 --tag exp``, succeeded;
    2. ``--alpha 0.5 --tag exp --tag keep``, succeeded;
    3. ``--alpha 0.9 --mode fail``, failed in its end step.
    """
    found = History(tmp_path_factory.mktemp("history"))
    found.record("--alpha", "0.1", "--tag", "exp")
    found.record("--alpha", "0.5", "--tag", "exp", "--tag", "keep")
    found.record("--alpha", "0.9", "--mode", "fail", ok=False)
    yield found
    found.close()


@pytest.fixture
def one_run(tmp_path: Path) -> Iterator[History]:
    """A history of its own with one successful run (``--tag exp``), for tests that change it."""
    found = History(tmp_path)
    found.record("--tag", "exp")
    yield found
    found.close()
