"""The demo (``examples/demo.py``, run by ``bin/demo``): it records a history of TrainFlow and
prints it back; run again, it adds runs whose ids keep counting. Checked through its output and
through the store it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from flowtrail.model import RunFilter, Status
from flowtrail.store import open_store

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def run_demo(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the demo in ``cwd`` with a clean environment (no FLOWTRAIL_* but ``env``)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRAIL_")}
    clean.update(XDG_CONFIG_HOME=str(cwd / "config"), COLUMNS="160", **env)
    return subprocess.run(
        [sys.executable, str(DEMO)], cwd=cwd, env=clean, capture_output=True, text=True, timeout=300
    )


def test_demo_records_a_history_and_prints_it(tmp_path: Path) -> None:
    home = tmp_path / ".flowtrail"
    first = run_demo(tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert f"Using metadata provider: local@{home}\n" in out
    assert "Recorded TrainFlow/1, TrainFlow/2, TrainFlow/3" in out
    for expected in ("succeeded", "failed", "team:ml", "prod", "runtime:local", "user:"):
        assert expected in out
    assert "Runs tagged prod: TrainFlow/3\n" in out
    assert "TrainFlow/3 succeeded" in out  # the tree of the latest run
    assert "best_alpha = 0.1" in out
    assert "Failed task TrainFlow/2/train/4" in out
    assert "attempt 1 failed" in out
    assert "FloatingPointError: loss diverged to nan at epoch 3 (alpha=10.0)" in out
    assert "Traceback (most recent call last)" in out  # the stderr log of the failed attempt
    assert (home / "flowtrail.db").is_file()
    assert any((home / "blobs").rglob("*")), "artifacts were not stored as blobs"

    second = run_demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Recorded TrainFlow/4, TrainFlow/5, TrainFlow/6" in second.stdout
    assert "Runs tagged prod: TrainFlow/6, TrainFlow/3\n" in second.stdout
    assert "Failed task TrainFlow/5/train/4" in second.stdout

    with open_store(f"sqlite:///{(home / 'flowtrail.db').as_posix()}") as store:
        runs = store.find_runs(RunFilter("TrainFlow")).items
        assert [run.run_id for run in runs] == ["6", "5", "4", "3", "2", "1"]
        assert [run.status for run in runs[:3]] == [
            Status.SUCCEEDED,
            Status.FAILED,
            Status.SUCCEEDED,
        ]
        assert all(run.finished_at is not None for run in runs)
        created = [run.created_at for run in runs]
        assert created == sorted(created, reverse=True), "runs of a later demo look older"


@pytest.mark.postgres
def test_demo_on_postgres(tmp_path: Path, fresh_postgres: str) -> None:
    result = run_demo(tmp_path, FLOWTRAIL_METADATA=f"sql@{fresh_postgres}")
    assert result.returncode == 0, result.stderr
    shown = make_url(fresh_postgres).render_as_string(hide_password=True)
    assert f"Using metadata provider: sql@{shown}" in result.stdout
    assert "Recorded TrainFlow/1, TrainFlow/2, TrainFlow/3" in result.stdout
    assert not (tmp_path / ".flowtrail" / "flowtrail.db").exists()
