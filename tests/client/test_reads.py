"""Reading the history: a task's attempts and the pages of its logs, an artifact's stored
bytes, tags answered from the listing that found a run, and a read of a home where nothing
was recorded (it creates nothing)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from flowtrail.blobs import serialize
from flowtrail.client import (
    DataArtifact,
    Flow,
    Flowtrail,
    Metadata,
    Provider,
    Run,
    Step,
    Task,
    get_metadata,
)
from flowtrail.errors import NotFound
from flowtrail.model import (
    MetadataType,
    MetadataValue,
    NewLogLine,
    NewMetadata,
    NewRun,
    Pathspec,
    Status,
)
from flowtrail.store import open_store
from tests.client.conftest import History
from tests.client.counting import CountingStore, alice


def test_a_tasks_attempts_oldest_first(any_history: History) -> None:
    attempts = Task("TrainFlow/2/train/3").attempts
    assert [t.current_attempt for t in attempts] == [0, 1]
    assert attempts[0] == Task("TrainFlow/2/train/3", attempt=0)
    assert attempts[0].status is Status.FAILED
    assert attempts[0].exception is not None
    assert attempts[0].exception.type == "ValueError"
    assert attempts[0].stdout == "attempt 0"
    assert attempts[1].successful
    assert [t.current_attempt for t in Task("TrainFlow/2/train/2").attempts] == [0]


def test_loglines_reads_the_attempt_of_meta_dict_and_starts_at_an_offset(
    history: History,
) -> None:
    task = Task("TrainFlow/2/train/3")  # attempt 0 failed, attempt 1 succeeded
    # Metaflow's rule: meta_dict's attempt is read when the task was not asked for one.
    assert [line for _, line in task.loglines("stdout", meta_dict={"attempt": 0})] == ["attempt 0"]
    asked = Task("TrainFlow/2/train/3", attempt=1)
    assert [line for _, line in asked.loglines("stdout", meta_dict={"attempt": 0})] == ["attempt 1"]
    spec = Pathspec("TrainFlow", "2", "train", "3")
    more = [NewLogLine(spec, 1, "stdout", seq, f"line {seq}") for seq in range(1, 1500)]
    history.provider.store.append_log_lines(more)
    lines = [line for _, line in task.loglines("stdout", offset=1200)]
    assert lines == [f"line {seq}" for seq in range(1200, 1500)]
    assert len(list(task.loglines("stdout"))) == 1500
    assert list(task.loglines("stdout", offset=1500)) == []
    with pytest.raises(ValueError, match="offset"):
        list(task.loglines("stdout", offset=-1))


def test_a_runs_own_metadata(any_history: History) -> None:
    run = Run("TrainFlow/2")
    assert run.metadata == []  # its tasks' entries are not the run's
    assert run.metadata_dict == {}
    assert Task("TrainFlow/2/train/2").metadata_dict["accuracy"] == 0.999
    spec = Pathspec("TrainFlow", "2")
    any_history.provider.store.record_metadata(
        [
            NewMetadata(spec, "owner", MetadataValue.text("alice"), "user"),
            NewMetadata(spec, "docs", MetadataValue.url("https://x.test/d"), "user"),
            NewMetadata(spec, "execution", MetadataValue.int(1), "system"),
        ]
    )
    any_history.provider.store.record_metadata(
        [NewMetadata(spec, "owner", MetadataValue.text("bob"), "user")]
    )
    entries = run.metadata  # read again: entries are appended while a run lives
    assert [(m.name, m.value, m.type) for m in entries] == [
        ("owner", "alice", "user"),
        ("docs", "https://x.test/d", "user"),
        ("execution", 1, "system"),
        ("owner", "bob", "user"),
    ]
    assert all(isinstance(m, Metadata) for m in entries)
    assert {m.pathspec for m in entries} == {"TrainFlow/2"}
    assert {m.attempt for m in entries} == {None}
    assert entries[1].value_type is MetadataType.URL
    assert entries[0].field_name == "owner"
    assert entries[0].ts_epoch > 0
    assert run.metadata_dict == {"owner": "bob", "docs": "https://x.test/d", "execution": 1}
    assert Run("TrainFlow/1").metadata == []


def test_an_artifacts_stored_bytes(any_history: History) -> None:
    accuracy = DataArtifact("TrainFlow/1/end/6/accuracy")
    assert accuracy.raw == serialize(0.97).data
    model = DataArtifact("TrainFlow/1/train/2/model")
    assert model.encoding == "pickle-v5"
    assert pickle.loads(model.raw) == model.data
    assert len(model.raw) == model.size


def test_a_listed_run_answers_its_first_tag_question_from_the_listing(
    counting: tuple[CountingStore, Provider],
) -> None:
    store, provider = counting
    flow = Flow("Big", **alice(provider))
    store.reset()
    tagged = [run.id for run in flow if "prod" in run.tags]
    assert len(tagged) == 25
    assert store.calls["get_run"] == 0  # no query per run
    run = flow.latest_run
    assert run is not None
    store.reset()
    assert run.tags == {"user:alice"}
    assert store.calls["get_run"] == 0
    store.add_tags(Pathspec("Big", "250"), ["late"])
    assert "late" in run.tags  # later questions read the store again
    assert "late" in run.user_tags
    assert store.calls["get_run"] == 2


def test_reading_a_home_where_nothing_was_recorded_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / ".flowtrail"  # the working directory (client_state chdirs there)
    assert get_metadata() == f"local@{home}"
    assert Flowtrail().flows == []
    assert list(Flowtrail().runs()) == []
    assert Flowtrail().tags() == {}
    with pytest.raises(NotFound, match="flow 'F' does not exist: nothing has been recorded"):
        Flow("F")
    assert not home.exists()
    # Once something is recorded there, the same provider reads it.
    home.mkdir()
    with open_store(f"sqlite:///{home / 'flowtrail.db'}") as store:
        store.create_run(NewRun("F"))
    assert [flow.id for flow in Flowtrail(_current_namespace=None)] == ["F"]


def test_outside_any_namespace_objects_do_not_read_their_run(
    counting: tuple[CountingStore, Provider],
) -> None:
    store, provider = counting
    everyone = {"provider": provider, "_current_namespace": None}
    task = Task("TrainFlow/1/end/6", **everyone)
    DataArtifact("TrainFlow/1/end/6/accuracy", **everyone)
    assert store.calls["get_run"] == store.calls["run_exists"] == 0  # no namespace to check
    # In a namespace, the check is one point read of the run's key and tag, not its record.
    assert Task("TrainFlow/1/end/6", **alice(provider)) == task
    assert (store.calls["get_run"], store.calls["run_exists"]) == (0, 1)


def test_a_steps_finished_at_is_one_query(counting: tuple[CountingStore, Provider]) -> None:
    store, provider = counting
    step = Step("TrainFlow/1/train", **alice(provider))
    tasks = store.find_tasks(Pathspec("TrainFlow", "1", "train")).items
    store.reset()
    assert step.finished_at == max(t.finished_at for t in tasks if t.finished_at)
    assert store.calls == {"get_step": 1}
