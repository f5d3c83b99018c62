"""run_flow: a flow run from Python returns its client Run; progress views render."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

from rich.console import Console

from flowtrail.runtime.progress import LiveProgress, PlainProgress

from .conftest import FLOWS


def test_run_flow_returns_the_client_run(tmp_path: Path) -> None:
    # In a fresh interpreter, as a notebook would: a path, parameters and tags in, a Run out.
    code = textwrap.dedent(
        f"""
        from flowtrail import run_flow
        run = run_flow({str(FLOWS / "branchy.py")!r}, parameters={{"alpha": 0.5}},
                       tags=["nb"], max_workers=2)
        print(run.pathspec, run.successful, run.data.best, sorted(run.user_tags))
        failed = run_flow({str(FLOWS / "faulty.py")!r}, parameters={{"mode": "raise"}})
        print(failed.pathspec, failed.successful, failed.finished)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "USER": "tester"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "BranchyFlow/1 True 1.5 ['nb']",
        "FaultyFlow/1 False True",
    ]


def test_run_flow_takes_a_class(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(
        textwrap.dedent(
            """
            from flowtrail import FlowSpec, step

            class TinyFlow(FlowSpec):
                @step
                def start(self):
                    self.x = 41
                    self.next(self.end)

                @step
                def end(self):
                    self.y = self.x + 1
            """
        )
    )
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, ".")
        from tiny import TinyFlow
        from flowtrail import run_flow
        run = run_flow(TinyFlow, run_id="first")
        print(run.pathspec, run.data.y, run.code.script_name)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "USER": "tester"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "TinyFlow/first 42 tiny.py"


def test_live_progress_shows_each_step_and_the_run() -> None:
    out = io.StringIO()
    progress = LiveProgress(Console(file=out, force_terminal=True, width=100))
    progress.run_started("F/1", ["start", "train", "end"])
    progress.task_started("start", "F/1/start/1", 0)
    progress.task_ended("start", "F/1/start/1", 0, True, "")
    progress.task_started("train", "F/1/train/2", 0)
    progress.task_ended("train", "F/1/train/2", 0, False, "")
    progress.tick()
    progress.run_ended("F/1", "failed", "task F/1/train/2 failed: ValueError: no")
    text = out.getvalue()
    assert "run F/1" in text
    assert "failed" in text
    assert "task F/1/train/2 failed: ValueError: no" in text
    for column in ("step", "done", "running", "failed", "elapsed"):
        assert column in text


def test_plain_progress_prints_timestamped_lines() -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    progress.run_started("F/1", ["start"])
    progress.task_started("start", "F/1/start/1", 0)
    progress.task_ended("start", "F/1/start/1", 0, True, "")
    progress.run_ended("F/1", "succeeded", None)
    lines = out.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines[:3]] == [
        "run F/1 started",
        "task F/1/start/1 started",
        "task F/1/start/1 succeeded",
    ]
    assert lines[0][:4].isdigit()
    assert lines[0].split(" ")[0].endswith("Z")
    assert "run F/1 succeeded in" in lines[3]
