"""The benches run end to end, in subprocesses: ``bench/store.py --quick`` on SQLite, and
``bench/runtime.py --quick`` on flowtrail with a Metaflow that cannot be had.

Only that they run and report every measurement is checked; speed is never asserted here
(the figures of a shared, noisy machine mean nothing in a test).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "store.py"
RUNTIME_BENCH = BENCH.with_name("runtime.py")


def _run(*args: str, bench: Path = BENCH) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(bench), *args],
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
        "steps of a run",
        "tasks of a step",
        "latest attempt of a task",
        "artifacts of a task",
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


def test_quick_runtime_bench_reports_flowtrail_and_why_metaflow_is_missing(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    missing = tmp_path / "no-such-python"

    result = _run(
        *("--quick", "--metaflow-python", str(missing), "--json", str(figures)),
        bench=RUNTIME_BENCH,
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "linear (3 steps)" in out, out
    assert "foreach 5" in out, out
    assert f"metaflow: unavailable, measured flowtrail alone: --metaflow-python {missing}" in out
    assert "3-step linear run (interpreter start included) in under 0.5 s:" in out, out
    assert "1,000-task foreach in under 5 s: not measured" in out, out
    assert "flowtrail, foreach 5: run 1/1" in result.stderr  # progress goes to stderr
    saved = json.loads(figures.read_text())
    runs = {(m["system"], m["flow"]): m for m in saved["measurements"]}
    assert set(runs) == {("flowtrail", "linear"), ("flowtrail", "foreach-5")}
    for measurement in runs.values():
        assert measurement["error"] is None
        assert len(measurement["samples_s"]) == 1
    assert runs["flowtrail", "foreach-5"]["tasks"] == 8  # start, 5 tasks, join, end
    assert set(saved["baseline_s"]) == {"flowtrail"}


def test_runtime_bench_help_explains_every_option() -> None:
    result = _run("--help", bench=RUNTIME_BENCH)

    assert result.returncode == 0, result.stderr
    for option in (
        "--sizes",
        "--repeats",
        "--metaflow-large-repeats",
        "--max-workers",
        "--baseline-samples",
        "--skip-metaflow",
        "--metaflow-venv",
        "--metaflow-requirement",
        "--metaflow-python",
        "--install-timeout",
        "--timeout",
        "--json",
        "--quick",
    ):
        assert option in result.stdout


CLIENT_BENCH = BENCH.with_name("client.py")


def test_quick_client_bench_reports_every_query() -> None:
    result = _run("--quick", bench=CLIENT_BENCH)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    for query in (
        "latest run",
        "first page of runs with a tag",
        "'id' in flow",
        "compound where, first page",
        "one task's metadata",
    ):
        assert f"300   {query}" in out, out
    assert "metaflow p50" in out, out  # the peers' columns, empty
    assert "mlflow p50" in out, out
    assert "300 runs: filling the history" in result.stderr  # progress goes to stderr


def test_client_bench_help_explains_every_option() -> None:
    result = _run("--help", bench=CLIENT_BENCH)

    assert result.returncode == 0, result.stderr
    for option in (
        "--sizes",
        "--samples",
        "--warmup",
        "--peer-samples",
        "--peer-warmup",
        "--peer-timeout",
        "--peers",
        "--metaflow-venv",
        "--mlflow-venv",
        "--install-timeout",
        "--seed",
        "--quick",
    ):
        assert option in result.stdout


SERVICE_BENCH = BENCH.with_name("service.py")


def test_quick_service_bench_reports_every_measurement(postgres_url: str) -> None:
    # A real `flowtrail service --workers 2` process over a database of its own.
    result = subprocess.run(
        [sys.executable, str(SERVICE_BENCH), "--quick", "--postgres-url", postgres_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    for measurement in (
        "latest run (find_runs, page of 1)",
        "tag listing (find_tags, page of 50)",
        "compound where search (page of 50)",
        "recording through the service",
        "tasks/s",
        "load average",
    ):
        assert measurement in out, out
    assert "service up at http://127.0.0.1:" in result.stderr
