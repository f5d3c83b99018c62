"""How many SQL statements each client property costs on the SQL store, as SQLite reports
them (a transaction's ``BEGIN`` and ``COMMIT`` included): a deterministic measure of the work
behind the speed figures of ``bench/client.py``, which a change that adds a query per
property or per run would break. A read of one statement runs on the store's own driver
connection, in no transaction of its own.

The history is the ``counting`` fixture's: 250 runs of ``Big`` (every 10th tagged ``prod``)
and one recorded TrainFlow run, read in the namespace ``user:alice``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from flowtrail.client import Flow, Provider, Run, Task
from flowtrail.model import NewRun
from tests.client.counting import CountingStore, alice


@contextmanager
def statements(store: CountingStore) -> Iterator[list[str]]:
    """The statements SQLite runs for the store inside the block."""
    store.traced.clear()
    store.tracing = True
    try:
        yield store.traced
    finally:
        store.tracing = False


def cost(store: CountingStore, read: Callable[[], object]) -> list[str]:
    """The statements one call of ``read`` runs (after a first call: none of the counts
    depends on it, but a cold process also compiles each statement once)."""
    read()
    with statements(store) as seen:
        read()
    return seen


@pytest.fixture
def big(counting: tuple[CountingStore, Provider]) -> tuple[CountingStore, Flow]:
    store, provider = counting
    return store, Flow("Big", **alice(provider))


# Each run's flow name and tags come in its row, so a page of runs is its flow's key and one
# statement, whatever its length. A search that requires two or more tags (the namespace's
# included) first reads their counts, one statement, to let the rarest tag drive the page.


def test_latest_run_is_the_flows_key_and_one_statement(big: tuple[CountingStore, Flow]) -> None:
    store, flow = big
    seen = cost(store, lambda: flow.latest_run)
    assert len(seen) == 2, seen  # the flow's key, the run: no transaction around them
    assert seen[0].startswith("SELECT flows.pk FROM flows"), seen


def test_a_page_of_tagged_runs_is_one_statement_for_every_run(
    big: tuple[CountingStore, Flow],
) -> None:
    store, flow = big
    got: list[Run] = []
    seen = cost(store, lambda: got.extend(flow.runs("prod", limit=50)))
    assert len(got) == 50  # both calls: 25 each
    assert {r.id for r in got[:25]} == {str(i) for i in range(241, 0, -10)}
    assert all({"prod", "user:alice"} <= r.tags for r in got[:25])  # read with the page
    # the flow's key, the counts of 'prod' and 'user:alice', the page with its tags
    assert len(seen) == 3, seen
    assert seen[1].startswith("SELECT tag_counts.tag"), seen
    assert store.calls["get_run"] == 0


def test_a_compound_search_page_is_one_statement(big: tuple[CountingStore, Flow]) -> None:
    store, flow = big
    where = "tag = 'prod' and run_id != '1' and created_at < '2100-01-01T00:00:00+00:00'"
    got: list[Run] = []
    seen = cost(store, lambda: got.extend(flow.runs(where=where, limit=50)))
    assert len(got) == 48  # both calls: the 25 prod runs but run 1
    assert len(seen) == 3, seen  # the flow's key, the tag counts, the page
    # A condition on the status first reads the flow's running runs, to record the silent
    # ones lost: a read of its own (the flow's key, the running runs).
    status = cost(store, lambda: list(flow.runs(where="status = 'running'", limit=50)))
    assert len(status) == 4, status


def test_membership_is_one_statement(big: tuple[CountingStore, Flow]) -> None:
    store, flow = big
    seen = cost(store, lambda: "12" in flow)
    assert len(seen) == 1, seen  # the run's key where it carries the namespace tag
    assert seen[0].startswith("SELECT runs.pk FROM runs JOIN flows")
    assert len(cost(store, lambda: "999" in flow)) == 1
    assert "12" in flow
    assert "999" not in flow


def test_a_run_object_is_one_statement(counting: tuple[CountingStore, Provider]) -> None:
    store, provider = counting
    seen = cost(store, lambda: Run("Big/12", **alice(provider)).tags)
    # The record read when the object is made answers its namespace check; .tags reads
    # the run again (tags change at any time): two reads, one statement each.
    assert len(seen) == 2, seen


def test_a_tasks_metadata_is_two_reads(counting: tuple[CountingStore, Provider]) -> None:
    store, provider = counting
    task = "TrainFlow/1/end/6"
    # namespace(None): the task, its keys, row and latest attempt's number in one statement;
    # then its metadata, the run and the task found in the same statement.
    everyone = {"provider": provider, "_current_namespace": None}
    seen = cost(store, lambda: Task(task, **everyone).metadata_dict)
    assert len(seen) == 2, seen
    assert "BEGIN" not in seen
    assert store.calls["get_attempt"] == 0
    # In a namespace, the task's run is read once more for the check.
    assert len(cost(store, lambda: Task(task, **alice(provider)).metadata_dict)) == 3
    meta = Task(task, **alice(provider)).metadata_dict
    assert meta["attempt"] == 0


def test_a_repeated_query_sees_runs_recorded_since(big: tuple[CountingStore, Flow]) -> None:
    # The statements of a repeated query are reused; their results never are.
    store, flow = big
    assert flow.latest_run is not None
    assert flow.latest_run.id == "250"
    tagged = [r.id for r in flow.runs("prod", limit=2)]
    store.create_run(NewRun("Big", tags=frozenset({"prod"}), system_tags=frozenset({"user:alice"})))
    assert flow.latest_run is not None
    assert flow.latest_run.id == "251"
    assert [r.id for r in flow.runs("prod", limit=2)] == ["251", tagged[0]]
    assert "251" in flow


def test_below_a_run_each_read_is_one_statement(counting: tuple[CountingStore, Provider]) -> None:
    # A run's steps, a step's tasks, a task's attempt, artifacts, log lines and children: each
    # one statement that finds the run, the task and the rows together, in no transaction.
    store, provider = counting
    everyone = {"provider": provider, "_current_namespace": None}
    run = Run("TrainFlow/1", **everyone)
    task = Task("TrainFlow/1/end/6", **everyone)
    reads: dict[str, Callable[[], object]] = {
        "steps": lambda: list(run),
        "a step": lambda: run["end"],
        "its tasks": lambda: list(run["end"]),
        "the latest attempt": lambda: Task("TrainFlow/1/end/6", **everyone).exception,
        "an attempt": lambda: Task("TrainFlow/1/end/6", 0, **everyone),
        "artifacts": lambda: dir(Task("TrainFlow/1/end/6", **everyone).data),
        "an artifact": lambda: task["accuracy"].sha,
        "log lines": lambda: Task("TrainFlow/1/end/6", **everyone).stdout,
        "child tasks": lambda: Task("TrainFlow/1/join/5", **everyone).child_tasks,
    }
    # Making a Task or a Step is a statement of its own (its record); the rest is the read.
    counts = {name: len(cost(store, read)) for name, read in reads.items()}
    assert counts == {
        "steps": 1,
        "a step": 1,
        "its tasks": 2,
        "the latest attempt": 2,
        "an attempt": 2,
        "artifacts": 2,
        "an artifact": 1,
        "log lines": 2,  # the task's record names its latest attempt
        "child tasks": 2,
    }, counts
    children = Task("TrainFlow/1/join/5", **everyone).child_tasks
    assert [child.pathspec for child in children] == ["TrainFlow/1/end/6"]
    for name, read in reads.items():
        seen = cost(store, read)
        assert "BEGIN" not in seen, (name, seen)
