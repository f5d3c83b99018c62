"""The reading commands on real runs: what ``flows``, ``status``, ``runs`` and ``show`` say is
what the client reads, in tables and in JSON; bad input is one line."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from flowtrail.cli.output import echo_json, format_time
from flowtrail.client import Run, Task

from .conftest import SCRIPT, History, assert_one_line_error


def summary(run: Run) -> dict[str, Any]:
    """What the JSON of a run listing must say, read through the client."""
    finished = run.finished_at
    return {
        "pathspec": run.pathspec,
        "flow": "ReportFlow",
        "run_id": run.id,
        "status": run.status.value,
        "user": run.user,
        "created_at": run.created_at.isoformat(),
        "finished_at": None if finished is None else finished.isoformat(),
        "duration_seconds": None
        if finished is None
        else round((finished - run.created_at).total_seconds(), 3),
        "user_tags": sorted(run.user_tags),
        "system_tags": sorted(run.system_tags),
    }


def ids(listing: list[dict[str, Any]]) -> list[str]:
    return [entry["run_id"] for entry in listing]


# --- flows, status, runs ---------------------------------------------------------------------


def test_flows_lists_the_flow_with_its_latest_runs(history: History) -> None:
    flow = history.flow()
    found = history.json("flows")
    assert found == [
        {
            "flow": "ReportFlow",
            "created_at": flow.created_at.isoformat(),
            "latest_run": summary(flow.latest_run),  # type: ignore[arg-type]
            "latest_successful_run": "ReportFlow/2",
        }
    ]
    assert found[0]["latest_run"]["status"] == "failed"
    table = history.cli("flows")
    assert table.exit_code == 0, table.output
    assert re.search(r"ReportFlow\s+3\s+failed\s+\S+ \S+\s+ReportFlow/2", table.stdout)


def test_status_shows_recent_runs_and_highlights_the_latest_successful(history: History) -> None:
    client_runs = list(history.flow())
    report = history.json("status", "ReportFlow")
    assert report == {
        "flow": "ReportFlow",
        "latest_run": "ReportFlow/3",
        "latest_successful_run": "ReportFlow/2",
        "runs": [summary(run) for run in client_runs],
    }
    assert ids(report["runs"]) == ["3", "2", "1"]
    assert [r["status"] for r in report["runs"]] == ["failed", "succeeded", "succeeded"]
    assert report["runs"][1]["user_tags"] == ["exp", "keep"]
    assert all(r["duration_seconds"] > 0 for r in report["runs"])

    table = history.cli("status", "ReportFlow")
    assert table.exit_code == 0, table.output
    marked = [line for line in table.stdout.splitlines() if line.lstrip().startswith("*")]
    assert len(marked) == 2, table.stdout  # the run's row and the legend
    assert re.match(r"\s*\*\s+2\s+succeeded\s+", marked[0])
    assert marked[1].strip() == "* latest successful run: ReportFlow/2"

    short = history.json("status", "ReportFlow", "--limit", "1")
    assert ids(short["runs"]) == ["3"]
    assert short["latest_successful_run"] == "ReportFlow/2"  # older than the runs shown
    more = history.cli("status", "ReportFlow", "--limit", "2")
    assert "showing the 2 newest runs; --limit 0 shows all of them" in more.stdout


@pytest.mark.parametrize(
    ("args", "where", "order_by", "tags"),
    [
        ((), None, None, ()),
        (("--where", "params.alpha > 0.3"), "params.alpha > 0.3", None, ()),
        (("--where", "status = 'succeeded'"), "status = 'succeeded'", None, ()),
        (("--order-by", "params.alpha"), None, ["params.alpha"], ()),
        (("--order-by=-params.alpha",), None, ["-params.alpha"], ()),
        (
            ("--order-by", "status", "--order-by", "-params.alpha"),
            None,
            ["status", "-params.alpha"],
            (),
        ),
        (("--tag", "exp", "--tag", "keep"), None, None, ("exp", "keep")),
        (("--tag", "exp", "--where", "params.alpha < 0.3"), "params.alpha < 0.3", None, ("exp",)),
    ],
)
def test_runs_search_is_the_clients(
    history: History,
    args: tuple[str, ...],
    where: str | None,
    order_by: list[str] | None,
    tags: tuple[str, ...],
) -> None:
    expected = [summary(run) for run in history.flow().runs(*tags, where=where, order_by=order_by)]
    assert expected, "each case should find something"
    assert history.json("runs", "ReportFlow", *args) == expected
    assert history.json("runs", *args) == expected  # every flow: there is only one


def test_runs_limit_and_table(history: History) -> None:
    assert ids(history.json("runs", "--limit", "2")) == ["3", "2"]
    assert ids(history.json("runs", "--limit", "0")) == ["3", "2", "1"]
    table = history.cli("runs", "--order-by", "params.alpha", "--limit", "2")
    assert table.exit_code == 0, table.output
    rows = [line.split()[0] for line in table.stdout.splitlines() if "ReportFlow/" in line]
    assert rows == ["ReportFlow/1", "ReportFlow/2"]
    assert "showing the first 2 runs; --limit 0 shows all of them" in table.stdout
    assert re.search(r"ReportFlow/2\s+succeeded\s+\S+ \S+\s+\S+\s+\S+\s+exp, keep", table.stdout)
    none = history.cli("runs", "--where", "params.alpha > 5")
    assert none.stdout == "no runs found\n"
    one = history.cli("runs", "--limit", "1")
    assert "showing the first run; --limit 0 shows all of them" in one.stdout
    for command in (["runs"], ["status", "ReportFlow"]):
        huge = history.cli(*command, "--limit", str(2**64))
        assert huge.exit_code == 2, huge.output  # a usage error, not a traceback
        assert "--limit" in huge.output
        assert "Traceback" not in huge.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--where", "params.alpha >> 1"), "--where 'params.alpha >> 1': at column 15: "),
        (("--where", "colour = 'red'"), "--where \"colour = 'red'\": at column 1: unknown field"),
        (("--order-by", "tag"), "order_by 'tag': at column 1: runs cannot be ordered by tag"),
    ],
)
def test_a_bad_search_says_where_it_went_wrong(
    history: History, args: tuple[str, ...], expected: str
) -> None:
    line = assert_one_line_error(history.cli("runs", "ReportFlow", *args))
    assert line.startswith(f"error: {expected}"), line


# --- show --------------------------------------------------------------------------------------


def test_show_a_run(history: History) -> None:
    run = history.flow()["2"]
    shown = history.json("show", "ReportFlow/2")
    assert shown["type"] == "run"
    assert {k: shown[k] for k in summary(run)} == summary(run)
    assert shown["parameters"] == {"alpha": 0.5, "mode": "ok"}
    assert shown["origin_pathspec"] is None
    assert shown["trigger"] == []
    assert shown["code"]["script_name"] == "report.py"
    assert [s["step"] for s in shown["steps"]] == [step.id for step in run] == ["end", "start"]
    assert shown["steps"][1] | {"created_at": None, "finished_at": None} == {
        "step": "start",
        "pathspec": "ReportFlow/2/start",
        "kind": "start",
        "next_steps": ["end"],
        "tasks": 1,
        "task_statuses": {"succeeded": 1},
        "created_at": None,
        "finished_at": None,
    }
    end = run.end_task
    assert end is not None
    sizes = {a.id: (a.size, a.sha, a.python_type) for a in end.artifacts}
    assert {a["name"]: (a["size"], a["sha"], a["python_type"]) for a in shown["artifacts"]} == sizes
    assert sizes["raw"][2] == "builtins.bytes"

    table = history.cli("show", "ReportFlow/2")
    assert table.exit_code == 0, table.output
    for pattern in [
        r"status\s+succeeded",
        r"tags\s+exp, keep",
        r"parameters\s+alpha=0\.5, mode='ok'",
        r"start\s+start\s+1\s+1 succeeded",
        rf"raw\s+builtins\.bytes\s+bytes\s+{sizes['raw'][0]} B",
        r"text\s+builtins\.str\s+utf-8\s+17 B\s+'line one\\nline two'",
    ]:
        assert re.search(pattern, table.stdout), (pattern, table.stdout)


def test_show_a_flow_a_step_a_task_and_an_artifact(history: History) -> None:
    flow = history.json("show", "ReportFlow")
    assert flow["type"] == "flow"
    assert flow["latest_run"]["pathspec"] == "ReportFlow/3"
    assert flow["latest_successful_run"]["pathspec"] == "ReportFlow/2"

    task = history.flow()["1"]["start"].task
    assert task is not None
    step = history.json("show", "ReportFlow/1/start")
    assert step["type"] == "step"
    assert [t["pathspec"] for t in step["tasks"]] == [task.pathspec]
    assert step["tasks"][0]["status"] == "succeeded"
    assert step["tasks"][0]["attempt"] == 0

    shown = history.json("show", task.pathspec)
    assert shown["type"] == "task"
    assert shown["status"] == "succeeded"
    assert shown["attempt"] == 0
    assert shown["exception"] is None
    assert shown["user_tags"] == ["exp"]
    metadata = {m["name"]: m for m in shown["metadata"]}
    assert metadata["phase"]["value"] == "start"
    assert metadata["phase"]["type"] == "user"
    assert {m: metadata[m]["value"] for m in task.metadata_dict} == task.metadata_dict
    artifacts = {a["name"]: a for a in shown["artifacts"]}
    assert (
        sorted(artifacts) == sorted(task.data) == ["alpha", "mode", "raw", "score", "table", "text"]
    )
    for artifact in task.artifacts:
        assert artifacts[artifact.id]["size"] == artifact.size
        assert artifacts[artifact.id]["sha"] == artifact.sha
    assert artifacts["score"]["value"] == pytest.approx(0.2)
    table = history.cli("show", task.pathspec)
    assert re.search(r"phase\s+start\s+user\s+0", table.stdout), table.stdout

    artifact = task["table"]
    one = history.json("show", artifact.pathspec)
    assert one == {
        "type": "artifact",
        "name": "table",
        "pathspec": artifact.pathspec,
        "python_type": "builtins.dict",
        "encoding": "pickle-v5",
        "size": artifact.size,
        "sha": artifact.sha,
        "attempt": 0,
        "created_at": artifact.created_at.isoformat(),
        "value": None,
        "task": task.pathspec,
        "origin_pathspec": None,
        "user_tags": ["exp"],
        "system_tags": sorted(task.system_tags),
    }
    attempt = history.json("show", artifact.pathspec, "--attempt", "0")
    assert attempt["sha"] == artifact.sha


def test_show_a_failed_task(history: History) -> None:
    task = history.flow()["3"]["end"].task
    assert task is not None
    shown = history.json("show", task.pathspec)
    assert shown["status"] == "failed"
    assert shown["exception"]["type"] == "RuntimeError"
    assert shown["exception"]["message"] == "asked to fail"
    assert "raise RuntimeError" in shown["exception"]["traceback"]
    table = history.cli("show", task.pathspec)
    assert re.search(r"exception\s+RuntimeError: asked to fail", table.stdout), table.stdout
    run = history.cli("show", "ReportFlow/3")
    assert re.search(r"end\s+end\s+1\s+1 failed", run.stdout), run.stdout


def test_show_an_attempt_gives_that_attempts_times(tmp_path: Path) -> None:
    # A retried task: attempt 0 failed, attempt 1 succeeded. Each attempt shown has its own
    # start, end and duration, not the task's first start with the latest end.
    history = History(tmp_path)
    marker = tmp_path / "marker"
    marker.write_text("go")
    history.env["REPORT_MARKER"] = str(marker)
    try:
        history.record("--mode", "retry")
        latest = history.flow().latest_run["start"].task
        assert latest is not None
        for number in (0, 1):
            attempt = Task(
                latest.pathspec, number, provider=history.provider, _current_namespace=None
            )
            assert attempt.started_at is not None
            assert attempt.finished_at is not None
            shown = history.json("show", latest.pathspec, "--attempt", str(number))
            assert shown["attempt"] == number
            assert shown["started_at"] == attempt.started_at.isoformat()
            assert shown["finished_at"] == attempt.finished_at.isoformat()
            assert shown["duration_seconds"] == pytest.approx(
                (attempt.finished_at - attempt.started_at).total_seconds()
            )
            table = history.cli("show", latest.pathspec, "--attempt", str(number)).stdout
            assert re.search(rf"^started\s+{format_time(attempt.started_at)}\s*$", table, re.M), (
                table
            )
        first = Task(latest.pathspec, 0, provider=history.provider, _current_namespace=None)
        assert first.finished_at is not None
        assert latest.started_at is not None
        assert latest.started_at >= first.finished_at  # the latest attempt is the retry
        assert history.json("show", latest.pathspec)["started_at"] == latest.started_at.isoformat()
    finally:
        history.close()


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("show", "a/b/c/d/e/f"), "expected 'Flow[/run_id[/step[/task_id[/artifact]]]]', got"),
        (("show", "ReportFlow//start"), "without empty components"),
        (("show", "Report-Flow"), "flow name must be a Python identifier"),
        (("show", "ReportFlow/99"), "does not exist"),
        (("show", "NoSuchFlow"), "flow 'NoSuchFlow' does not exist"),
        (("status", "NoSuchFlow"), "flow 'NoSuchFlow' does not exist"),
        (("runs", "NoSuchFlow"), "flow 'NoSuchFlow' does not exist"),
        (("show", "ReportFlow/1/train"), "does not exist"),
        (("show", "ReportFlow/1", "--attempt", "0"), "--attempt applies to a task or an artifact"),
        (("runs", "--namespace", ""), "a tag must not be empty"),
    ],
)
def test_bad_input_is_one_line(history: History, args: tuple[str, ...], expected: str) -> None:
    assert expected in assert_one_line_error(history.cli(*args))


def test_namespaces(history: History) -> None:
    user = history.flow()["1"].user
    mine = history.json("runs", "--namespace", f"user:{user}")
    assert ids(mine) == ["3", "2", "1"]
    assert ids(history.json("runs", "-n", "keep")) == ["2"]
    assert history.json("runs", "-n", "user:nobody-here") == []
    assert history.json("flows", "-n", "user:nobody-here") == []
    assert history.json("show", "ReportFlow/2", "-n", "keep")["run_id"] == "2"
    line = assert_one_line_error(history.cli("show", "ReportFlow/1", "-n", "keep"))
    assert line == (
        "error: ReportFlow/1 is not in namespace 'keep' (its run is not tagged 'keep'); leave "
        "out --namespace to read every namespace, or pass --namespace with a tag the run carries"
    )
    status = history.json("status", "ReportFlow", "-n", "keep")
    assert status["latest_run"] == status["latest_successful_run"] == "ReportFlow/2"


def test_a_flow_outside_the_namespace(history: History) -> None:
    # A flow none of whose runs carries the tag: status and show refuse it, as the client's
    # Flow() does; a search finds no run, as it does across flows.
    for command in ("status", "show"):
        line = assert_one_line_error(history.cli(command, "ReportFlow", "-n", "nobody"))
        assert line == (
            "error: ReportFlow is not in namespace 'nobody' (none of its runs is tagged "
            "'nobody'); leave out --namespace to read every namespace, or pass --namespace "
            "with a tag one of its runs carries"
        )
    assert history.json("runs", "ReportFlow", "-n", "nobody") == []
    assert history.cli("runs", "ReportFlow", "-n", "nobody").stdout == "no runs found\n"
    line = assert_one_line_error(history.cli("runs", "NoSuchFlow", "-n", "nobody"))
    assert "flow 'NoSuchFlow' does not exist" in line


def test_no_history_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    history = History(tmp_path)
    for args in (("flows",), ("runs",), ("show", "ReportFlow/1")):
        line = assert_one_line_error(history.cli(*args))
        assert line.startswith(f"error: no flowtrail history at {tmp_path / '.flowtrail'}")
    assert not (tmp_path / ".flowtrail").exists()


# --- the console script ------------------------------------------------------------------------


def test_the_console_script_in_the_project_folder(history: History) -> None:
    """As a user types it: no settings at all, the history found from the working folder."""
    runs = history.script("runs", "ReportFlow", "-o", "json")
    assert runs.returncode == 0, runs.stderr
    assert json.loads(runs.stdout) == [summary(run) for run in history.flow()]
    provider = history.script("metadata", "get")
    assert provider.stdout == f"Using metadata provider: local@{history.path / '.flowtrail'}\n"
    missing = history.script("show", "ReportFlow/42")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: run 'ReportFlow/42' does not exist")
    assert len(missing.stderr.splitlines()) == 1
    assert missing.stdout == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", [("runs",), ("flows", "-o", "json"), ("show", "ReportFlow/1")])
def test_an_output_that_cannot_be_written_is_one_line(
    history: History, args: tuple[str, ...]
) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [str(SCRIPT), *args],
            cwd=history.path,
            env=history.env,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr == "error: No space left on device (errno 28)\n"


def test_json_output_is_strict(capsys: pytest.CaptureFixture[str]) -> None:
    # NaN and infinities (an artifact's value, a parameter) have no JSON number: null.
    echo_json({"value": float("nan"), "values": [float("inf"), 1.5], "low": (float("-inf"),)})

    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    printed = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert printed == {"value": None, "values": [None, 1.5], "low": [None]}
