"""The store bench runs end to end: ``bench/store.py --quick`` on SQLite, in a subprocess.

Only that it runs and reports every measurement is checked; speed is never asserted here
(the figures of a shared, noisy machine mean nothing in a test).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "store.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_quick_bench_on_sqlite_reports_every_measurement() -> None:
    result = _run("--quick", "--backends", "sqlite")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    for query in (
        "latest run of a flow",
        "first page of runs with a tag",
        "all metadata of one task",
    ):
        assert query in out, out
    assert "batch writes" in out, out
    assert "tasks/s" in out, out
    assert "sqlite:" in out  # machine info: the SQLite version measured
    assert "filled 300 / 300 runs" in result.stderr  # progress goes to stderr


def test_bench_help_explains_every_option() -> None:
    result = _run("--help")

    assert result.returncode == 0, result.stderr
    for option in (
        "--runs",
        "--backends",
        "--postgres-url",
        "--reads",
        "--warmup",
        "--batch-tasks",
        "--batches",
        "--seed",
        "--explain",
        "--quick",
    ):
        assert option in result.stdout
