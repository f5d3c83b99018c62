"""Real runs of the example flows: what they record, read back from the store."""

from __future__ import annotations

import io
import os
import re
import sys
import tarfile

from flowtrail import __version__
from flowtrail.model import Pathspec, Status, StepKind

from .conftest import Project


def test_branchy_run_records_every_task_artifact_log_and_metadata(project: Project) -> None:
    done = project.run("branchy", "run", "--alpha", "0.5", "--tag", "exp", "--tag", "team:a")
    assert done.returncode == 0, done.stderr + done.stdout
    run = project.latest("BranchyFlow")
    assert run.status is Status.SUCCEEDED
    assert run.finished_at is not None
    assert str(run.pathspec) in done.stdout  # the pathspec is shown at start and end
    assert run.parameters == {"alpha": 0.5, "rounds": 2}
    assert run.user_tags == {"exp", "team:a"}
    system = run.system_tags
    assert any(t.startswith("user:") for t in system)
    assert "runtime:local" in system
    assert f"flowtrail_version:{__version__}" in system
    assert any(t.startswith("python_version:3.") for t in system)
    assert any(t.startswith("date:20") for t in system)

    tasks = project.tasks(run.pathspec)
    by_step: dict[str, list] = {}
    for task in tasks:
        by_step.setdefault(task.pathspec.step, []).append(task)
    assert sorted(by_step) == sorted(
        ["start", "train", "join", "branch_a", "branch_b", "join2", "end"]
    )
    assert all(t.status is Status.SUCCEEDED and t.finished_at for t in tasks)
    trains = sorted(by_step["train"], key=lambda t: t.foreach_stack[-1].index)
    assert [t.foreach_stack[-1].index for t in trains] == [0, 1, 2]
    assert all(t.foreach_stack[-1].num_splits == 3 for t in trains)
    join = by_step["join"][0]
    assert set(join.parent_tasks) == {t.pathspec for t in trains}

    steps = {s.pathspec.step: s for s in project.store.find_steps(run.pathspec)}
    assert steps["start"].kind is StepKind.START
    assert steps["join"].kind is StepKind.JOIN
    assert steps["join"].next_steps == ("branch_a", "branch_b")

    # Artifacts: a foreach task sees its input; a join sees what it merged; end sees all.
    first = project.artifacts(trains[0].pathspec)
    assert first["score"] == 0.5
    assert first["position"] == 0
    assert first["alpha"] == 0.5
    end = by_step["end"][0]
    data = project.artifacts(end.pathspec)
    assert data["best"] == 1.5
    assert data["positions"] == [0, 1, 2]
    assert data["total"] == 3
    assert data["items"] == [1, 2, 3]
    assert "score" not in data
    context = data["context"]
    assert context["pathspec"] == str(end.pathspec)
    assert context["flow_name"] == "BranchyFlow"
    assert context["step_name"] == "end"
    assert context["run_id"] == run.pathspec.run_id
    assert context["retry_count"] == 0
    assert context["is_running_flow"] is True
    assert context["origin_run_id"] is None
    assert "exp" in context["tags"]
    assert context["username"] == run.user

    # Artifact rows are indexed with sha, size, type and encoding; scalars are searchable.
    rows = {a.pathspec.artifact: a for a in project.store.find_artifacts(trains[1].pathspec)}
    assert rows["score"].value == 1.0
    assert rows["score"].python_type == "builtins.float"
    assert rows["items"].value is None
    assert rows["items"].size > 0
    # Content addressing: the same list is the same blob in every task.
    start_rows = {
        a.pathspec.artifact: a for a in project.store.find_artifacts(by_step["start"][0].pathspec)
    }
    assert start_rows["items"].sha == rows["items"].sha

    # Logs, with times.
    assert project.log(trains[2].pathspec) == ["trained 3"]
    start_log = project.store.read_log_lines(
        by_step["start"][0].pathspec,
        attempt=0,
        stream="stdout",  # type: ignore[arg-type]
    )
    assert start_log[0].text == f"starting {by_step['start'][0].pathspec}"
    assert start_log[0].created_at.tzinfo is not None

    # Metadata: system entries on every task, user entries where set.
    entries = list(project.store.find_metadata(trains[0].pathspec))
    names = {e.field_name for e in entries}
    assert {
        "attempt",
        "runtime",
        "host",
        "pid",
        "python_version",
        "started_at",
        "finished_at",
        "retry",
    } <= names
    user = [e for e in entries if e.type == "user"]
    assert [(e.field_name, e.value.value) for e in user] == [("score", 0.5)]
    assert user[0].attempt == 0
    start_user = [
        e for e in project.store.find_metadata(by_step["start"][0].pathspec) if e.type == "user"
    ]
    assert [(e.field_name, e.value.value) for e in start_user] == [("phase", "start")]


def test_code_package_holds_the_flow_and_its_neighbours(project: Project) -> None:
    assert project.run("nested", "run").returncode == 0
    run = project.latest("NestedFlow")
    package = run.code_package
    assert package is not None
    assert package.script_name == "nested.py"
    with tarfile.open(fileobj=io.BytesIO(project.blobs.get(package.sha))) as tar:
        names = set(tar.getnames())
        source = tar.extractfile("nested.py").read().decode()  # type: ignore[union-attr]
    assert {"nested.py", "branchy.py", "faulty.py"} <= names
    assert "class NestedFlow" in source


def test_nested_foreach_joins_each_level(project: Project) -> None:
    done = project.run("nested", "run", "--max-workers", "2")
    assert done.returncode == 0, done.stderr
    run = project.latest("NestedFlow")
    tasks = project.tasks(run.pathspec)
    work = [t for t in tasks if t.pathspec.step == "work"]
    assert len(work) == 6
    assert {tuple(f.index for f in t.foreach_stack) for t in work} == {
        (i, j) for i in range(2) for j in range(3)
    }
    inner = [t for t in tasks if t.pathspec.step == "join_inner"]
    assert len(inner) == 2
    assert all(len(t.foreach_stack) == 1 for t in inner)
    end = next(t for t in tasks if t.pathspec.step == "end")
    assert project.artifacts(end.pathspec)["all_labels"] == ["x1", "x2", "x3", "y1", "y2", "y3"]


def test_show_and_help(project: Project) -> None:
    shown = project.run("branchy", "show")
    assert shown.returncode == 0
    assert "start [start] → train for each item of 'items'" in shown.stdout
    assert "join2 [join] → end" in shown.stdout
    helped = project.run("branchy", "--help")
    assert helped.returncode == 0
    # One line per parameter, in a column, never reflowed into one paragraph.
    assert "    --alpha FLOAT  learning rate. (default: 0.1)\n" in helped.stdout
    assert "    --rounds INT   how many rounds. (default: 2)\n" in helped.stdout
    run_help = project.run("branchy", "run", "--help")
    assert "--alpha" in run_help.stdout
    assert "--max-workers" in run_help.stdout


def test_run_id_and_trigger_event(project: Project) -> None:
    done = project.run("nested", "run", "--run-id", "nightly-1", "--trigger-event", "data:42")
    assert done.returncode == 0, done.stderr
    run = project.store.get_run(Pathspec("NestedFlow", "nightly-1"))
    assert [(e.name, e.id) for e in run.trigger] == [("data", "42")]
    assert "trigger:data" in run.system_tags


def test_everything_a_step_writes_is_its_log(project: Project) -> None:
    done = project.run("noisy", "run")
    assert done.returncode == 0, done.stdout + done.stderr
    run = project.latest("NoisyFlow").pathspec
    start = next(t.pathspec for t in project.tasks(run) if t.pathspec.step == "start")
    assert project.log(start) == [
        "from print",
        "from a subprocess",
        "raw on fd 1",
        "no newline at the end",
    ]
    assert project.log(start, stream="stderr") == ["subprocess stderr", "raw on fd 2"]
    # None of it reached the run command's own output.
    assert "from a subprocess" not in done.stdout + done.stderr
    assert "raw on fd" not in done.stdout + done.stderr


def test_output_of_a_process_a_step_left_behind_stays_in_that_steps_log(
    project: Project,
) -> None:
    # A process start leaves behind writes while middle runs on the same (only) worker.
    done = project.run("lingering", "run", "--max-workers", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    run = project.latest("LingeringFlow").pathspec
    tasks = {t.pathspec.step: t.pathspec for t in project.tasks(run)}
    assert project.log(tasks["middle"]) == ["middle begins", "middle ends"]
    assert project.log(tasks["start"]) == ["start done", "late from start"]
    assert project.log(tasks["end"]) == ["end"]
    # The other still holds start's output: the run ended without waiting for it.
    holder = int((project.path / "lingering.pid").read_text())
    try:
        os.kill(holder, 0)  # alive (it gives up after a minute)
    finally:
        (project.path / "lingering.exit").touch()


def test_a_terminal_gets_the_live_table(project: Project) -> None:
    # A real run on a pseudo-terminal: the rich table per step, the pathspec at both ends.
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: the run command, its output on the terminal
        os.chdir(project.path)
        os.execve(sys.executable, project.command("branchy", "run"), project.env)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal closed: the run ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    assert os.waitstatus_to_exitcode(status) == 0, shown
    run = project.latest("BranchyFlow").pathspec
    assert f"run {run} started" in shown
    assert re.search(rf"run {run} succeeded in \d+\.\d\ds", shown)
    header = next(line for line in shown.splitlines() if "running" in line and "failed" in line)
    assert [w for w in re.split(r"[\s│┃|]+", header) if w] == [
        "step",
        "done",
        "running",
        "failed",
        "elapsed",
    ]
    assert re.search(r"train\s*[│┃|]\s*3\s*[│┃|]\s*0\s*[│┃|]\s*0", shown), shown
