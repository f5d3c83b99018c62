"""Contract: flows and runs — creation, ids, lookup, listing, status and heartbeat."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import pytest

from flowtrail.errors import (
    AlreadyExists,
    InvalidPathspec,
    InvalidTag,
    InvalidTransition,
    NotFound,
)
from flowtrail.model import (
    AttemptEnd,
    Batch,
    CodePackage,
    MetadataValue,
    NewAttempt,
    NewRun,
    NewStep,
    NewTask,
    PageRequest,
    Pathspec,
    RunFilter,
    RunRecord,
    Status,
    TaskStatusChange,
    TriggerEvent,
    utc_now,
)
from flowtrail.store import MetadataStore


def test_flows_are_created_with_their_first_run_and_listed_by_name(store: MetadataStore) -> None:
    for name in ["Beta", "Alpha", "Gamma"]:
        store.create_run(NewRun(name))
    assert [f.name for f in store.find_flows()] == ["Alpha", "Beta", "Gamma"]
    first = store.find_flows(PageRequest(2))
    second = store.find_flows(first.next_request())
    assert [f.name for f in first] == ["Alpha", "Beta"]
    assert [f.name for f in second] == ["Gamma"]
    assert second.next_cursor is None
    assert store.get_flow("Beta").last_run_at is not None


def test_create_flow_then_duplicate(store: MetadataStore) -> None:
    flow = store.create_flow("F", {"owner": MetadataValue.text("data team")})
    assert flow.metadata["owner"] == MetadataValue.text("data team")
    assert flow.last_run_at is None
    with pytest.raises(AlreadyExists, match="'F' exists already"):
        store.create_flow("F")


def test_unknown_flow_and_run(store: MetadataStore) -> None:
    with pytest.raises(NotFound, match="flow 'Nope' does not exist"):
        store.get_flow("Nope")
    with pytest.raises(NotFound, match="flow 'Nope' does not exist"):
        store.get_run(Pathspec("Nope", "1"))
    store.create_run(NewRun("F"))
    with pytest.raises(NotFound, match="run 'F/9' does not exist"):
        store.get_run(Pathspec("F", "9"))
    with pytest.raises(KeyError):  # NotFound is a KeyError too
        store.get_run(Pathspec("F", "9"))


def test_run_ids_count_up_per_flow(store: MetadataStore) -> None:
    ids = [store.create_run(NewRun("F")).run_id for _ in range(3)]
    assert ids == ["1", "2", "3"]
    assert store.create_run(NewRun("G")).run_id == "1"
    assert store.get_run(Pathspec("F", "2")).run_number == 2


def test_user_chosen_ids_and_the_counter(store: MetadataStore) -> None:
    chosen = store.create_run(NewRun("F", run_id="nightly-2026-11-23"))
    assert chosen.run_id == "nightly-2026-11-23"
    assert chosen.run_number is None
    assert store.create_run(NewRun("F")).run_id == "1"
    store.create_run(NewRun("F", run_id="10"))  # a number: automatic ids go past it
    assert store.create_run(NewRun("F")).run_id == "11"


def test_duplicate_run_id_writes_nothing(store: MetadataStore) -> None:
    store.create_run(NewRun("F", run_id="x"))
    with pytest.raises(AlreadyExists, match="F/x exists already"):
        store.create_run(NewRun("F", run_id="x", tags=frozenset({"extra"})))
    runs = store.find_runs(RunFilter(flow_name="F")).items
    assert len(runs) == 1
    assert runs[0].user_tags == frozenset()
    assert store.create_run(NewRun("F")).run_id == "1"


def test_run_record_round_trips_every_field(store: MetadataStore) -> None:
    now = utc_now()
    new = NewRun(
        "TrainFlow",
        user="ada",
        parameters={"alpha": 0.5, "layers": [64, 32], "name": "x"},
        tags=frozenset({"team:ml", "prod"}),
        system_tags=frozenset({"user:ada", "runtime:local"}),
        origin_run_id="3",
        trigger=(TriggerEvent("data_ready", now, id="evt-1", type="event"),),
        code_package=CodePackage("a" * 64, "flow.py", {"files": 3}),
        flow_metadata={"owner": MetadataValue.text("ml"), "docs": MetadataValue.url("https://x")},
        heartbeat_timeout=timedelta(seconds=90),
        created_at=now - timedelta(seconds=5),
    )
    run = store.create_run(new)
    again = store.get_run(run.pathspec)
    assert again == run
    assert run.status is Status.RUNNING
    assert run.created_at == now - timedelta(seconds=5)
    assert run.user == "ada"
    assert run.parameters == new.parameters
    assert run.user_tags == {"team:ml", "prod"}
    assert run.system_tags == {"user:ada", "runtime:local"}
    assert run.tags == run.user_tags | run.system_tags
    assert run.origin_run_id == "3"
    assert run.trigger == new.trigger
    assert run.code_package == new.code_package
    assert run.flow_metadata == new.flow_metadata
    assert run.heartbeat_timeout == timedelta(seconds=90)
    assert store.get_flow("TrainFlow").metadata == new.flow_metadata


def test_flow_metadata_keeps_values_json_cannot_hold(store: MetadataStore) -> None:
    odd = {
        "loss": MetadataValue.float(float("inf")),
        "nested": MetadataValue.json({"curve": [1.0, float("nan")]}),
        "big": MetadataValue.int(2**63 + 5),
    }
    run = store.create_run(NewRun("F", flow_metadata=odd))
    got = store.get_run(run.pathspec).flow_metadata
    assert got["loss"].value == float("inf")
    assert math.isnan(got["nested"].value["curve"][1])
    assert got["big"] == odd["big"]
    assert store.get_flow("F").metadata["big"].value == 2**63 + 5


def test_find_runs_newest_first_with_stable_cursors(store: MetadataStore) -> None:
    for _ in range(5):
        store.create_run(NewRun("F"))
    first = store.find_runs(RunFilter(flow_name="F"), PageRequest(2))
    assert [r.run_id for r in first] == ["5", "4"]
    store.create_run(NewRun("F"))  # a new run does not shift later pages
    second = store.find_runs(RunFilter(flow_name="F"), first.next_request())
    third = store.find_runs(RunFilter(flow_name="F"), second.next_request())
    assert [r.run_id for r in second] == ["3", "2"]
    assert [r.run_id for r in third] == ["1"]
    assert third.next_cursor is None
    assert store.find_runs(RunFilter(flow_name="F"), PageRequest(1)).items[0].run_id == "6"


def test_find_runs_filters(store: MetadataStore) -> None:
    t0 = utc_now() - timedelta(hours=1)
    a = store.create_run(
        NewRun("F", user="ada", tags=frozenset({"prod", "team:ml"}), created_at=t0)
    )
    b = store.create_run(
        NewRun("F", user="bob", tags=frozenset({"prod"}), created_at=t0 + timedelta(seconds=1))
    )
    c = store.create_run(
        NewRun(
            "G",
            user="ada",
            tags=frozenset({"prod", "team:ml"}),
            created_at=t0 + timedelta(seconds=2),
        )
    )
    store.set_run_status(b.pathspec, Status.SUCCEEDED)

    def ids(**kw: object) -> list[str]:
        return [str(r.pathspec) for r in store.find_runs(RunFilter.of(**kw))]  # type: ignore[arg-type]

    assert ids(tags=["prod", "team:ml"]) == [str(c.pathspec), str(a.pathspec)]
    assert ids(flow_name="F", tags=["prod"]) == [str(b.pathspec), str(a.pathspec)]
    assert ids(tags=["prod", "absent"]) == []
    assert ids(statuses=[Status.SUCCEEDED]) == [str(b.pathspec)]
    assert ids(statuses=["running", "succeeded"], flow_name="F") == ["F/2", "F/1"]
    assert ids(user="ada") == [str(c.pathspec), str(a.pathspec)]
    assert ids(created_after=b.created_at) == [str(c.pathspec), str(b.pathspec)]
    assert ids(created_after=b.created_at, created_before=c.created_at) == [str(b.pathspec)]
    assert ids(flow_name="Nobody") == []


def test_latest_successful_run(store: MetadataStore) -> None:
    for _ in range(4):
        store.create_run(NewRun("F"))
    store.set_run_status(Pathspec("F", "2"), Status.SUCCEEDED)
    store.set_run_status(Pathspec("F", "3"), Status.FAILED)
    latest = store.find_runs(RunFilter.of("F", statuses=[Status.SUCCEEDED]), PageRequest(1))
    assert [r.run_id for r in latest] == ["2"]


def test_status_transitions_are_recorded_and_checked(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F"))
    done = store.set_run_status(run.pathspec, Status.SUCCEEDED)
    assert done.status is Status.SUCCEEDED
    assert done.finished_at is not None
    assert store.set_run_status(run.pathspec, Status.SUCCEEDED) == done  # repeat: no-op
    with pytest.raises(InvalidTransition, match="F/1 is succeeded; it cannot become running"):
        store.set_run_status(run.pathspec, Status.RUNNING)
    assert store.get_run(run.pathspec).status is Status.SUCCEEDED


def test_pending_run_starts(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F", status=Status.PENDING))
    assert run.status is Status.PENDING
    assert store.set_run_status(run.pathspec, Status.RUNNING).finished_at is None


def _silent_run(store: MetadataStore) -> RunRecord:
    run = store.create_run(NewRun("F", heartbeat_timeout=timedelta(milliseconds=20)))
    time.sleep(0.1)  # longer than its timeout: its writer fell silent
    return run


def test_heartbeat_and_lost_runs(store: MetadataStore) -> None:
    run = _silent_run(store)
    alive = store.create_run(NewRun("F", heartbeat_timeout=timedelta(minutes=5)))
    assert store.heartbeat(alive.pathspec).status is Status.RUNNING
    lost = store.get_run(run.pathspec)
    assert lost.status is Status.LOST
    assert lost.finished_at == run.heartbeat_at  # it finished when it was last heard of
    listed = {r.run_id: r.status for r in store.find_runs(RunFilter(flow_name="F"))}
    assert listed == {"1": Status.LOST, "2": Status.RUNNING}
    with pytest.raises(InvalidTransition, match="not running"):
        store.heartbeat(run.pathspec)
    # the writer was alive after all: it may still record how the run ended
    assert store.set_run_status(run.pathspec, Status.SUCCEEDED).status is Status.SUCCEEDED


def test_a_lost_run_takes_its_unfinished_tasks_and_attempts_with_it(
    store: MetadataStore,
) -> None:
    run = store.create_run(NewRun("F", heartbeat_timeout=timedelta(milliseconds=50)))
    r = run.pathspec
    done, busy, queued = (r.child("s").child(i) for i in ("1", "2", "3"))
    store.write_batch(
        Batch(
            "b1",
            r,
            steps=(NewStep(r.child("s")),),
            tasks=(NewTask(done), NewTask(busy), NewTask(queued, Status.PENDING)),
            attempts=(NewAttempt(done, 0), NewAttempt(busy, 0)),
            attempt_ends=(AttemptEnd(done, 0, Status.SUCCEEDED),),
            task_statuses=(TaskStatusChange(done, Status.SUCCEEDED),),
        )
    )
    time.sleep(0.2)  # its writer fell silent
    heard = store.get_run(r).finished_at
    assert store.get_run(r).status is Status.LOST
    statuses = {t.task_id: (t.status, t.finished_at) for t in store.find_tasks(r)}
    assert statuses["1"][0] is Status.SUCCEEDED
    assert statuses["2"] == (Status.LOST, heard)
    assert statuses["3"] == (Status.LOST, heard)
    ((attempt,),) = [store.find_attempts(busy).items]
    assert (attempt.status, attempt.finished_at) == (Status.LOST, heard)
    assert store.find_attempts(done).items[0].status is Status.SUCCEEDED


def test_lost_runs_leave_a_running_filter(store: MetadataStore) -> None:
    _silent_run(store)
    store.create_run(NewRun("F"))
    running = store.find_runs(RunFilter.of("F", statuses=[Status.RUNNING]))
    assert [r.run_id for r in running] == ["2"]
    assert [r.run_id for r in store.find_runs(RunFilter.of("F", statuses=["lost"]))] == ["1"]


def test_heartbeat_moves_forward(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F"))
    later = utc_now() + timedelta(seconds=5)
    assert store.heartbeat(run.pathspec, later).heartbeat_at == later
    assert store.heartbeat(run.pathspec, later - timedelta(seconds=3)).heartbeat_at == later


def test_methods_check_the_pathspec_level(store: MetadataStore) -> None:
    with pytest.raises(InvalidPathspec, match="expected 'Flow/run_id', got 'F/1/start'"):
        store.get_run(Pathspec.parse("F/1/start"))
    with pytest.raises(NotFound):
        store.set_run_status(Pathspec("F", "1"), Status.FAILED)


def test_run_exists_looks_a_run_up_in_a_namespace(store: MetadataStore) -> None:
    ada = store.create_run(NewRun("F", system_tags=frozenset({"user:ada"}))).pathspec
    bob = store.create_run(NewRun("F", tags=frozenset({"team:ml"}))).pathspec
    store.create_run(NewRun("G"))
    assert store.run_exists(ada)
    assert store.run_exists(bob)
    assert not store.run_exists(Pathspec.parse("F/99"))  # no such run
    assert not store.run_exists(Pathspec.parse("Nowhere/1"))  # no such flow: no error either
    assert not store.run_exists(Pathspec.parse("G/2"))  # run 2 is F's, not G's
    assert store.run_exists(ada, namespace="user:ada")
    assert not store.run_exists(bob, namespace="user:ada")
    assert store.run_exists(bob, namespace="team:ml")  # any tag, user or system
    store.remove_tags(bob, ["team:ml"])
    assert not store.run_exists(bob, namespace="team:ml")  # tags change at any time
    with pytest.raises(InvalidPathspec, match="expected 'Flow/run_id'"):
        store.run_exists(Pathspec.parse("F/1/start"))
    with pytest.raises(InvalidTag):
        store.run_exists(ada, namespace="")


def test_a_silent_run_exists(store: MetadataStore) -> None:
    # Existence does not depend on the status, before or after a read records it lost.
    run = _silent_run(store)
    assert store.run_exists(run.pathspec)
    assert store.get_run(run.pathspec).status is Status.LOST
    assert store.run_exists(run.pathspec, namespace=None)
