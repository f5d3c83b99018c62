"""The client asks the store for what it needs and no more: one indexed query per property,
pages read as iteration reaches them, immutable things cached and changing things re-read.

The store is a real :class:`SqlStore` on SQLite that counts the calls it answers."""

from __future__ import annotations

from itertools import islice

from flowtrail.client import Flow, Flowtrail, Provider, Run, Task
from flowtrail.model import (
    NewStep,
    NewTask,
    Pathspec,
    Status,
)
from tests.client.counting import RUNS, CountingStore, alice


def test_the_first_runs_take_one_small_page(counting: tuple[CountingStore, Provider]) -> None:
    store, provider = counting
    flow = Flow("Big", **alice(provider))
    store.reset()
    assert [r.id for r in islice(flow, 10)] == [str(i) for i in range(250, 240, -1)]
    assert store.calls == {"find_runs": 1}
    assert store.limits == [20]


def test_a_flow_checks_its_namespace_with_one_page_of_one_run(
    counting: tuple[CountingStore, Provider],
) -> None:
    store, provider = counting
    Flow("Big", **alice(provider))
    assert store.calls == {"find_runs": 1}
    assert store.limits == [1]
    store.reset()
    Flow("Big", provider=provider, _current_namespace=None)  # every namespace: no question
    Flow("Big", provider=provider, _current_namespace="user:bob", _namespace_check=False)
    assert store.calls == {}


def test_latest_run_is_one_query_of_one_run(counting: tuple[CountingStore, Provider]) -> None:
    store, provider = counting
    flow = Flow("Big", **alice(provider))
    store.reset()
    assert flow.latest_run is not None
    assert flow.latest_run.id == "250"
    assert store.calls == {"find_runs": 2}
    assert store.limits == [1, 1]


def test_membership_is_one_lookup(counting: tuple[CountingStore, Provider]) -> None:
    store, provider = counting
    flow = Flow("Big", **alice(provider))
    store.reset()
    assert "12" in flow
    assert "999" not in flow
    assert "bad/id" not in flow  # a malformed id is not asked for
    assert store.calls == {"run_exists": 2}


def test_runs_by_tag_are_filtered_by_the_store(counting: tuple[CountingStore, Provider]) -> None:
    store, provider = counting
    flow = Flow("Big", **alice(provider))
    store.reset()
    first = next(flow.runs("prod"))
    assert first.id == "241"
    assert store.calls == {"find_runs": 1}
    assert [r.id for r in flow.runs("prod", limit=3)] == ["241", "231", "221"]
    assert store.limits[-1] == 3


def test_full_iteration_pages_through(counting: tuple[CountingStore, Provider]) -> None:
    store, provider = counting
    flow = Flow("Big", **alice(provider))
    store.reset()
    runs = list(flow)
    assert len(runs) == RUNS
    assert len({r.id for r in runs}) == RUNS
    assert store.limits == [20, 100, 100, 100]  # 20 + 100 + 100 + 30
    assert store.calls["get_run"] == 0  # the runs came with their records


def test_flows_take_one_query_each(counting: tuple[CountingStore, Provider]) -> None:
    store, provider = counting
    assert [f.id for f in Flowtrail(**alice(provider))] == ["Big", "TrainFlow"]
    assert store.calls == {"find_flows": 1, "find_runs": 2}


def test_a_finished_tasks_artifacts_are_read_once(
    counting: tuple[CountingStore, Provider],
) -> None:
    store, provider = counting
    task = Task("TrainFlow/1/end/6", **alice(provider))
    store.reset()
    assert task.data.accuracy == 0.97
    assert task.data.summary == "best 0.1"
    assert next(iter(task.artifacts)).id == "accuracy"
    assert store.calls["find_artifacts"] == 1


def test_an_unfinished_run_is_read_again(counting: tuple[CountingStore, Provider]) -> None:
    store, provider = counting
    run = Run("Big/250", **alice(provider))
    spec = Pathspec("Big", "250")
    step = spec.child("start")
    store.create_step(NewStep(step))
    store.create_task(NewTask(step.child("1")))
    task = Task("Big/250/start/1", **alice(provider))
    assert run.status is Status.RUNNING
    assert not task.finished
    assert list(task) == []
    store.set_task_status(step.child("1"), Status.SUCCEEDED)
    store.set_run_status(spec, Status.SUCCEEDED)
    assert task.successful
    assert run.successful
    assert run.finished_at is not None
    store.reset()
    assert run.successful
    assert run.finished_at is not None
    assert run.created_at is not None
    assert store.calls == {}  # settled: nothing to read again
    assert run.tags  # but tags are read at every access
    assert store.calls == {"get_run": 1}
