"""The demo (``examples/demo.py``, run by ``bin/demo``): it runs the real TrainFlow and reads
the run back through the client. Checked through its output and through the store it wrote."""

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


def test_demo_runs_a_flow_and_reads_it_back(tmp_path: Path) -> None:
    home = tmp_path / ".flowtrail"
    first = run_demo(tmp_path)
    assert first.returncode == 0, first.stderr + first.stdout
    out = first.stdout
    assert f"Using metadata provider: local@{home}\n" in out
    assert "run TrainFlow/1 started" in out
    assert "run TrainFlow/1 succeeded" in out
    for step in ("start", "train", "choose", "end"):
        assert f"TrainFlow/1/{step}/" in out
    assert "(index 3): succeeded, 2 attempts" in out
    assert "best_alpha = 2.0, accuracy = 0.9897" in out
    assert "FloatingPointError: loss diverged to nan at epoch 3 (alpha=2.0)" in out
    assert "epoch 4: loss" in out
    assert "metadata: attempt=0 runtime=local final_loss=" in out
    assert (home / "flowtrail.db").is_file()
    assert any((home / "blobs").rglob("*")), "artifacts were not stored as blobs"

    second = run_demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "run TrainFlow/2 succeeded" in second.stdout

    with open_store(f"sqlite:///{(home / 'flowtrail.db').as_posix()}") as store:
        runs = store.find_runs(RunFilter("TrainFlow")).items
        assert [run.run_id for run in runs] == ["2", "1"]
        assert all(run.status is Status.SUCCEEDED for run in runs)
        assert all("demo" in run.user_tags for run in runs)


@pytest.mark.postgres
def test_demo_on_postgres(tmp_path: Path, fresh_postgres: str) -> None:
    result = run_demo(tmp_path, FLOWTRAIL_METADATA=f"sql@{fresh_postgres}")
    assert result.returncode == 0, result.stderr + result.stdout
    shown = make_url(fresh_postgres).render_as_string(hide_password=True)
    assert f"Using metadata provider: sql@{shown}" in result.stdout
    assert "best_alpha = 2.0" in result.stdout
    assert not (tmp_path / ".flowtrail" / "flowtrail.db").exists()
