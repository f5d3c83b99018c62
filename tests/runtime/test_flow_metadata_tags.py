"""Dagster-style flow metadata, default and launch-time run tags, and the system tags a run
gets (partition, backfill, image, origin-run, resume-step): real runs, read back through the
client and through ``flowtrail`` on the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from flowtrail import MetadataValue
from flowtrail.client import Flow, Run
from flowtrail.client.provider import Provider
from flowtrail.model import MetadataType, Pathspec, Status

from .conftest import Project


@pytest.fixture
def provider(project: Project) -> Iterator[Provider]:
    found = Provider.from_spec(f"local@{project.path / '.flowtrail'}")
    yield found
    found.close()


def flowtrail(project: Project, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``flowtrail ARGS`` in the project folder (its ``.flowtrail`` is found from there)."""
    return subprocess.run(
        [sys.executable, "-m", "flowtrail", *args],
        cwd=project.path,
        env={**project.env, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def show_json(project: Project, pathspec: str) -> Any:
    done = flowtrail(project, "show", pathspec, "-o", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr + done.stdout


EXPECTED = {
    "owner": MetadataValue.text("data team"),
    "docs": MetadataValue.url("https://example.org/docs"),
    "readme": MetadataValue.markdown("# Meta\nreads *everything*"),
    "config": MetadataValue.json({"lr": 0.1, "layers": [64, 32]}),
    "data": MetadataValue.path("/data/meta"),
    "replicas": MetadataValue.int(3),
    "ratio": MetadataValue.float(0.25),
    "active": MetadataValue.bool(True),
}


def test_flow_metadata_has_typed_values_in_the_client_and_the_cli(
    project: Project, provider: Provider
) -> None:
    ok(project.run("meta", "run"))
    flow = Flow.bound("MetaFlow", provider)
    assert dict(flow.metadata) == EXPECTED
    assert flow.metadata["docs"].type is MetadataType.URL
    assert flow.metadata["docs"].value == "https://example.org/docs"
    assert flow.metadata["data"].type == "path"
    run = Run.bound("MetaFlow/1", provider)
    assert dict(run.flow_metadata) == EXPECTED

    shown = show_json(project, "MetaFlow")
    assert shown["metadata"]["docs"] == {"type": "url", "value": "https://example.org/docs"}
    assert shown["metadata"]["config"] == {
        "type": "json",
        "value": {"lr": 0.1, "layers": [64, 32]},
    }
    assert shown["metadata"]["active"] == {"type": "bool", "value": True}
    assert shown["metadata"]["replicas"] == {"type": "int", "value": 3}
    assert show_json(project, "MetaFlow/1")["flow_metadata"] == shown["metadata"]

    table = flowtrail(project, "show", "MetaFlow")
    ok(table)
    assert "flow metadata" in table.stdout
    assert "https://example.org/docs" in table.stdout
    run_table = flowtrail(project, "show", "MetaFlow/1")
    ok(run_table)
    assert "data team" in run_table.stdout

    described = project.run("meta", "show")
    ok(described)
    assert "metadata docs (url): https://example.org/docs" in described.stdout
    assert "default tags: team:ml, tier:1" in described.stdout


def test_each_run_keeps_the_metadata_of_the_definition_it_ran_with(
    project: Project, provider: Provider
) -> None:
    ok(project.run("meta", "run"))
    source = project.path / "meta.py"
    source.write_text(source.read_text().replace('"data team"', '"platform team"'))
    ok(project.run("meta", "run"))
    assert Run.bound("MetaFlow/1", provider).flow_metadata["owner"].value == "data team"
    assert Run.bound("MetaFlow/2", provider).flow_metadata["owner"].value == "platform team"
    assert Flow.bound("MetaFlow", provider).metadata["owner"].value == "platform team"


def test_class_tags_and_launch_tags_are_removable_user_tags(
    project: Project, provider: Provider
) -> None:
    ok(project.run("meta", "run"))
    ok(project.run("meta", "run", "--tag", "team:data", "--tag", "nightly"))
    first, second = project.runs("MetaFlow")[::-1]
    assert first.user_tags == {"team:ml", "tier:1"}
    # A launch-time key:value tag replaces the class's tag of the same key.
    assert second.user_tags == {"team:data", "tier:1", "nightly"}
    assert not second.system_tags & second.user_tags

    run = Run.bound("MetaFlow/2", provider)
    run.remove_tag("tier:1")
    assert run.user_tags == frozenset({"team:data", "nightly"})
    done = flowtrail(project, "tag", "remove", "MetaFlow/1", "team:ml")
    ok(done)
    assert project.store.get_run(Pathspec("MetaFlow", "1")).user_tags == {"tier:1"}
    # The task saw every tag the run started with.
    assert "team:data" in project.artifacts(Pathspec("MetaFlow", "2", "start", "1"))["tags"]


def test_partition_tag_current_partition_and_a_resume_that_keeps_it(
    project: Project, provider: Provider
) -> None:
    ok(project.run("meta", "run", "--partition", "2026-03-01"))
    ok(project.run("meta", "run"))
    partitioned = project.store.get_run(Pathspec("MetaFlow", "1"))
    assert "partition:2026-03-01" in partitioned.system_tags
    assert project.artifacts(Pathspec("MetaFlow", "1", "start", "1"))["partition"] == "2026-03-01"
    plain = project.store.get_run(Pathspec("MetaFlow", "2"))
    assert not any(t.startswith("partition:") for t in plain.system_tags)
    assert project.artifacts(Pathspec("MetaFlow", "2", "start", "1"))["partition"] is None

    ok(project.run("meta", "resume", "1", "--step", "start"))
    resumed = Run.bound("MetaFlow/3", provider)
    assert {"partition:2026-03-01", "origin-run:1", "resume-step:start"} <= resumed.system_tags
    assert resumed.data is not None
    assert resumed["start"].task.data.partition == "2026-03-01"

    listed = flowtrail(project, "runs", "MetaFlow", "--tag", "partition:2026-03-01", "-o", "json")
    ok(listed)
    assert sorted(r["run_id"] for r in json.loads(listed.stdout)) == ["1", "3"]
    shown = show_json(project, "MetaFlow/3")
    assert {"origin-run:1", "resume-step:start", "partition:2026-03-01"} <= set(
        shown["system_tags"]
    )


def test_image_tag_comes_from_flowtrail_image(project: Project, provider: Provider) -> None:
    ok(project.run("meta", "run", FLOWTRAIL_IMAGE="registry.example.org/train:1.4"))
    ok(project.run("meta", "run"))
    assert "image:registry.example.org/train:1.4" in show_json(project, "MetaFlow/1")["system_tags"]
    assert not any(t.startswith("image:") for t in show_json(project, "MetaFlow/2")["system_tags"])
    imaged = Run.bound("MetaFlow/1", provider)
    assert "image:registry.example.org/train:1.4" in imaged.system_tags
    assert "image:registry.example.org/train:1.4" not in imaged.user_tags
    assert not any(t.startswith("image:") for t in Run.bound("MetaFlow/2", provider).tags)
    # A value that cannot be a tag is refused before anything is recorded, naming where it
    # came from.
    done = project.run("meta", "run", FLOWTRAIL_IMAGE="train:1.4 ")
    assert done.returncode == 1
    assert "FLOWTRAIL_IMAGE 'train:1.4 ' cannot be a tag: a tag must not begin or end" in (
        done.stderr
    )
    assert [run.id for run in Flow("MetaFlow", provider=provider, _current_namespace=None)] == [
        "2",
        "1",
    ]


def test_trigger_tag_names_the_event_that_started_the_run(
    project: Project, provider: Provider
) -> None:
    ok(project.run("meta", "run", "--trigger-event", "data:42"))
    ok(project.run("meta", "run"))
    triggered = Run.bound("MetaFlow/1", provider)
    assert "trigger:data" in triggered.system_tags
    assert "trigger:data" not in triggered.user_tags
    assert not any(t.startswith("trigger:") for t in Run.bound("MetaFlow/2", provider).tags)
    assert "trigger:data" in show_json(project, "MetaFlow/1")["system_tags"]
    listed = flowtrail(project, "runs", "MetaFlow", "--tag", "trigger:data", "-o", "json")
    ok(listed)
    assert [r["run_id"] for r in json.loads(listed.stdout)] == ["1"]


def test_backfill_runs_one_tagged_run_per_partition(project: Project, provider: Provider) -> None:
    done = flowtrail(
        project,
        "backfill",
        "meta.py",
        "--partitions",
        "eu,us,asia",
        "--tag",
        "nightly",
        "-o",
        "json",
        FLOWTRAIL_IMAGE="train:2",
    )
    ok(done)
    report = json.loads(done.stdout)
    backfill = report["backfill"]
    assert report["flow"] == "MetaFlow"
    assert [(r["partition"], r["status"]) for r in report["runs"]] == [
        ("eu", "succeeded"),
        ("us", "succeeded"),
        ("asia", "succeeded"),
    ]
    runs = {r["partition"]: Run.bound(r["pathspec"], provider) for r in report["runs"]}
    assert len({run.pathspec for run in runs.values()}) == 3
    for key, run in runs.items():
        assert {f"backfill:{backfill}", f"partition:{key}", "image:train:2"} <= run.system_tags
        assert {"nightly", "team:ml", "tier:1"} == run.user_tags
        assert run["start"].task.data.partition == key
    tagged = flowtrail(project, "runs", "--tag", f"backfill:{backfill}", "-o", "json")
    ok(tagged)
    assert len(json.loads(tagged.stdout)) == 3

    table = flowtrail(project, "backfill", "meta.py", "--partitions", "x")
    ok(table)
    assert table.stdout.startswith("backfill ")
    assert "MetaFlow/4" in table.stdout
    assert "succeeded" in table.stdout


def test_a_backfill_with_failed_runs_goes_on_and_exits_non_zero(project: Project) -> None:
    done = flowtrail(
        project, "backfill", "faulty.py", "--partitions", "p1,p2", "--mode", "raise", "-o", "json"
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [r["status"] for r in report["runs"]] == ["failed", "failed"]
    assert report["runs"][1]["failed_task"].startswith("FaultyFlow/2/work/")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--partitions", "a,,b"), "--partitions takes keys separated by commas"),
        (("--partitions", "a,a"), "--partitions names a more than once"),
        (("--partitions", "a", "--mood", "x"), "unknown parameter --mood"),
        (("--partitions", "a", "--tag", "backfill:mine"), "reserved for system tags"),
        (("--partitions", "a,b\x07"), "--partition 'b\\x07' cannot be a tag"),
    ],
)
def test_a_wrong_backfill_records_nothing(
    project: Project, args: tuple[str, ...], message: str
) -> None:
    done = flowtrail(project, "backfill", "meta.py", *args)
    assert done.returncode != 0
    assert message in done.stderr
    assert not (project.path / ".flowtrail" / "flowtrail.db").exists() or not project.runs(
        "MetaFlow"
    )


@pytest.mark.parametrize("prefix", ["partition:", "backfill:", "image:", "schedule:", "trigger:"])
def test_system_prefixes_are_refused_at_launch(project: Project, prefix: str) -> None:
    done = project.run("meta", "run", "--tag", f"{prefix}mine")
    assert done.returncode == 1
    assert f"tag '{prefix}mine' uses a prefix reserved for system tags" in done.stderr
    assert not (project.path / ".flowtrail" / "flowtrail.db").exists() or not project.runs(
        "MetaFlow"
    )


def _attempts(project: Project, run: Pathspec, step: str) -> list[Any]:
    (task,) = [t for t in project.tasks(run) if t.pathspec.step == step]
    return list(project.store.find_attempts(task.pathspec))


def test_max_retries_tag_retries_steps_without_retry(project: Project) -> None:
    ok(project.run("tuned", "run"))  # the class sets flowtrail/max_retries:2
    run = project.latest("TunedFlow")
    assert run.status is Status.SUCCEEDED
    work = _attempts(project, run.pathspec, "work")
    assert [a.status for a in work] == [Status.FAILED, Status.FAILED, Status.SUCCEEDED]

    # @retry(times=0) on a step wins over the tag: its one failure fails the run.
    failed = project.run("tuned", "run", TUNED_FAIL_STRICT="1")
    assert failed.returncode == 1
    strict = _attempts(project, project.latest("TunedFlow").pathspec, "strict")
    assert [a.status for a in strict] == [Status.FAILED]

    # A launch-time tag wins over the class's, and is the one the run carries.
    again = project.run("tuned", "run", "--tag", "flowtrail/max_retries:1")
    assert again.returncode == 1
    latest = project.latest("TunedFlow")
    assert len(_attempts(project, latest.pathspec, "work")) == 2
    assert "flowtrail/max_retries:1" in latest.user_tags
    assert "flowtrail/max_retries:2" not in latest.user_tags


def test_timeout_seconds_tag_stops_a_step_without_timeout(project: Project) -> None:
    done = project.run(
        "tuned",
        "run",
        "--mode",
        "sleep",
        "--tag",
        "flowtrail/timeout_seconds:1",
        "--tag",
        "flowtrail/max_retries:0",
    )
    assert done.returncode == 1
    run = project.latest("TunedFlow")
    assert run.status is Status.FAILED
    (attempt,) = _attempts(project, run.pathspec, "work")
    assert attempt.exception is not None
    assert attempt.exception.type == "flowtrail.errors.StepTimeout"
    assert "timed out after 1 seconds (flowtrail/timeout_seconds)" in attempt.exception.message


def _work_pids(project: Project) -> set[int]:
    run = project.latest("TunedFlow")
    tasks = [t for t in project.tasks(run.pathspec) if t.pathspec.step == "work"]
    assert len(tasks) == 3
    pids = set()
    for task in tasks:
        entries = project.store.find_metadata(task.pathspec, field_name="pid")
        pids |= {e.value.value for e in entries}
    return pids


def test_max_workers_tag_sizes_the_pool_and_the_option_wins(project: Project) -> None:
    ok(project.run("tuned", "run", "--mode", "fan", "--tag", "flowtrail/max_workers:1"))
    assert len(_work_pids(project)) == 1  # one worker ran the three tasks in turn
    ok(
        project.run(
            "tuned",
            "run",
            "--mode",
            "fan",
            "--tag",
            "flowtrail/max_workers:1",
            "--max-workers",
            "3",
        )
    )
    assert len(_work_pids(project)) == 3  # --max-workers wins over the tag


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        (
            "flowtrail/max_workers:abc",
            "tag 'flowtrail/max_workers:abc': flowtrail/max_workers takes an integer from 1 "
            "to 1024 (worker processes), got 'abc'",
        ),
        ("flowtrail/max_retries:-1", "flowtrail/max_retries takes an integer from 0 to 100"),
        ("flowtrail/timeout_seconds:1.5", "flowtrail/timeout_seconds takes an integer from 1"),
        ("flowtrail/max_workers:0", "got '0'"),
        ("flowtrail/colour:red", "unknown execution tag 'flowtrail/colour:red'"),
        ("flowtrail/max_workers", "unknown execution tag 'flowtrail/max_workers'"),
    ],
)
def test_invalid_execution_tags_fail_before_anything_is_recorded(
    project: Project, tag: str, message: str
) -> None:
    done = project.run("tuned", "run", "--tag", tag)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ")
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (project.path / ".flowtrail" / "flowtrail.db").exists() or not project.runs(
        "TunedFlow"
    )


_BAD_FLOW = """
import datetime
from flowtrail import FlowSpec, step


class BadFlow(FlowSpec, {kwargs}):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BadFlow()
"""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            'metadata={"when": datetime.date(2026, 3, 1)}',
            "flow 'BadFlow': metadata 'when': metadata values are str, int, float, bool, a "
            "path, or JSON-compatible dict/list/None, or a MetadataValue; got date",
        ),
        ('metadata={"m": {"x": {1, 2}}}', "flow 'BadFlow': metadata 'm': a json metadata value"),
        ('metadata=["owner"]', "metadata= takes a dict of name to value, got list"),
        ('tags={"flowtrail/max_workers": 0}', "flowtrail/max_workers takes an integer from 1"),
        ('tags=["image:mine"]', "flow 'BadFlow': tags=: tag 'image:mine' uses a prefix reserved"),
        ('tags="prod"', "tags= takes a dict (key: value) or a list of tags, got str"),
        ('tags={"a:b": "c"}', "a tag key must be a non-empty string without ':', got 'a:b'"),
    ],
)
def test_an_invalid_class_definition_fails_before_anything_is_recorded(
    project: Project, kwargs: str, message: str
) -> None:
    (project.path / "bad.py").write_text(_BAD_FLOW.format(kwargs=kwargs))
    done = project.run("bad", "run")
    assert done.returncode == 1
    assert done.stderr.startswith("error: ")
    assert message in done.stderr
    assert not (project.path / ".flowtrail" / "flowtrail.db").exists() or not project.runs(
        "BadFlow"
    )
