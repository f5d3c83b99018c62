"""Contract: concurrent writers, forged cursors, pages that must
not shift, silent runs in status searches, odd run ids."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from flowtrail.errors import InvalidArgument, InvalidTransition
from flowtrail.model import (
    AttemptEnd,
    LogStream,
    NewArtifact,
    NewAttempt,
    NewRun,
    NewStep,
    NewTask,
    PageRequest,
    Pathspec,
    RunFilter,
    Status,
    StepKind,
    from_epoch_ms,
)
from flowtrail.model.limits import MAX_EPOCH_MS, MAX_HEARTBEAT_TIMEOUT, MIN_EPOCH_MS
from flowtrail.store import CURSOR_ARGUMENT, MetadataStore
from flowtrail.store.sql.paging import encode_cursor
from tests.contract.history import run_with_task


def _together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released at once; results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def body(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_threads_sharing_one_store(store: MetadataStore) -> None:
    results = _together(4, lambda i: [store.create_run(NewRun("T")).run_id for _ in range(25)])
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    ids = sorted(int(i) for batch in results for i in batch)
    assert ids == list(range(1, 101))
    assert len(store.find_runs(RunFilter("T"), PageRequest(1000))) == 100


def test_racing_status_changes_let_exactly_one_win(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    wanted = [Status.FAILED if i % 2 else Status.SUCCEEDED for i in range(6)]
    results = _together(6, lambda i: store.set_task_status(task, wanted[i]).status)
    wins = [r for r in results if isinstance(r, Status)]
    losers = [r for r in results if isinstance(r, Exception)]
    final = store.get_task(task).status
    assert all(isinstance(r, InvalidTransition) for r in losers), losers
    assert set(wins) == {final}, results  # repeats of the winning status are no-ops


def test_racing_attempt_ends_let_exactly_one_win(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    store.start_attempt(NewAttempt(task, 0))
    wanted = [Status.FAILED if i % 2 else Status.SUCCEEDED for i in range(6)]
    results = _together(6, lambda i: store.finish_attempt(AttemptEnd(task, 0, wanted[i])).status)
    final = store.get_attempt(task, 0).status
    assert {r for r in results if isinstance(r, Status)} == {final}, results
    assert all(isinstance(r, InvalidTransition) for r in results if isinstance(r, Exception))


def test_racing_identical_artifact_rows_are_both_fine(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    rows = [
        NewArtifact(task.child(f"a{i}"), 0, "c" * 64, 1, "builtins.int", "json", i)
        for i in range(20)
    ]
    results = _together(4, lambda i: store.record_artifacts(rows))
    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(store.find_artifacts(task).items) == 20


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor("steps", []),
        encode_cursor("runs", ["x"]),
        encode_cursor("runs", [True]),
        encode_cursor("flows", [None]),
        encode_cursor("attempts", [[1]]),
        encode_cursor("artifacts", ["name-only"]),
        encode_cursor("tasks", [1, 2]),
        # Keys no column holds: a driver would overflow on them.
        encode_cursor("steps", [2**64]),
        encode_cursor("tasks", [-(2**63) - 1]),
        encode_cursor("attempts", [2**63]),
        encode_cursor("artifacts", [2**64, "a"]),
        encode_cursor("metadata", [2**70]),
        encode_cursor("runs", [2**64]),
        "not base64 at all!",
        "",
    ],
)
def test_forged_cursors_are_invalid_arguments(store: MetadataStore, cursor: str) -> None:
    run, task = run_with_task(store)
    for call in [
        lambda p: store.find_steps(run.pathspec, p),
        lambda p: store.find_runs(RunFilter("F"), p),
        lambda p: store.find_flows(p),
        lambda p: store.find_attempts(task, p),
        lambda p: store.find_artifacts(task, p),
        lambda p: store.find_tasks(run.pathspec, p),
        lambda p: store.find_metadata(task, p),
    ]:
        with pytest.raises(InvalidArgument) as refused:
            call(PageRequest(10, cursor))
        assert refused.value.details.get("argument") == CURSOR_ARGUMENT, refused.value


def test_artifact_pages_stay_on_one_attempt(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    first = [NewArtifact(task.child(n), 0, "a" * 64, 1, "builtins.int", "json", 0) for n in "abcd"]
    store.record_artifacts(first)
    page = store.find_artifacts(task, PageRequest(2))
    store.record_artifacts(
        [NewArtifact(task.child(n), 1, "b" * 64, 1, "builtins.int", "json", 1) for n in "abxyz"]
    )
    rest = store.find_artifacts(task, page.next_request())
    assert [(a.name, a.attempt) for a in [*page, *rest]] == [(n, 0) for n in "abcd"]
    assert [a.name for a in store.find_artifacts(task)] == list("abxyz")


def test_a_status_search_finds_silent_runs_as_lost(store: MetadataStore) -> None:
    silent = store.create_run(NewRun("G", heartbeat_timeout=timedelta(milliseconds=20)))
    store.create_run(NewRun("G"))
    time.sleep(0.1)
    lost = store.find_runs(RunFilter.of("G", statuses=[Status.LOST]))
    assert [r.pathspec for r in lost] == [silent.pathspec]
    running = store.find_runs(RunFilter.of("G", statuses=[Status.RUNNING]), PageRequest(1))
    assert [r.run_id for r in running] == ["2"]
    assert running.next_cursor is None


def test_run_ids_that_look_like_numbers(store: MetadataStore) -> None:
    store.create_run(NewRun("F", run_id="²"))  # a digit to str.isdigit, not to int()
    assert store.create_run(NewRun("F")).run_id == "1"
    store.create_run(NewRun("F", run_id=str(2**63 - 1)))  # too big to move the counter
    assert store.create_run(NewRun("F")).run_id == "2"
    store.create_run(NewRun("F", run_id=str(2**70)))
    assert store.create_run(NewRun("F")).run_id == "3"


def test_a_task_recorded_finished_has_a_finish_time(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F")).pathspec
    store.create_step(NewStep(run.child("start"), StepKind.START))
    for i, status in enumerate([Status.SUCCEEDED, Status.LOST, Status.RUNNING]):
        task = store.create_task(NewTask(run.child("start").child(str(i)), status=status))
        assert (task.finished_at is not None) == status.finished
        if status.finished:
            assert task.finished_at == task.created_at


def test_pathspec_of_missing_parent_in_threads(store: MetadataStore) -> None:
    results = _together(3, lambda i: store.get_run(Pathspec("F", str(i + 1))))
    assert all(isinstance(r, KeyError) for r in results)


HUGE = [2**31, 2**63 + 5, 2**64, 99999999999999999999, -1]


@pytest.mark.parametrize("number", HUGE)
def test_attempt_numbers_beyond_the_columns_are_invalid_arguments(
    store: MetadataStore, number: int
) -> None:
    # Not a driver's OverflowError (or, through HTTP, a 500 retried until it gives up).
    _run, task = run_with_task(store)
    store.start_attempt(NewAttempt(task, 0))
    reads: list[Callable[[], object]] = [
        lambda: store.get_attempt(task, number),
        lambda: store.find_metadata(task, attempt=number),
        lambda: store.find_artifacts(task, attempt=number),
        lambda: store.get_artifact(task.child("a"), number),
        lambda: store.read_log_lines(task, attempt=number, stream=LogStream.STDOUT),
    ]
    for read in reads:
        with pytest.raises(InvalidArgument):
            read()


@pytest.mark.parametrize("offset", [2**63, 2**64, -1])
def test_log_offsets_beyond_the_column_are_invalid_arguments(
    store: MetadataStore, offset: int
) -> None:
    _run, task = run_with_task(store)
    with pytest.raises(InvalidArgument):
        store.read_log_lines(task, attempt=0, stream=LogStream.STDOUT, offset=offset)
    assert store.read_log_lines(task, attempt=0, stream=LogStream.STDOUT, offset=2**63 - 1) == []


@pytest.mark.parametrize(
    "where",
    [
        "duration > 99999999999999999999",
        "run_id > 99999999999999999999",
        f"run_id < -{2**64}",
    ],
)
def test_numbers_no_column_holds_in_a_search_are_invalid_queries(
    store: MetadataStore, where: str
) -> None:
    store.create_run(NewRun("F"))
    with pytest.raises(InvalidArgument, match="at most"):
        store.find_runs(RunFilter(where=where))


def test_runs_at_the_ends_of_time_keep_status_searches_working(store: MetadataStore) -> None:
    # A heartbeat in the year 9999 plus its timeout is past what a datetime holds: the
    # liveness check must not overflow (every status search would fail after it).
    last, first = from_epoch_ms(MAX_EPOCH_MS), from_epoch_ms(MIN_EPOCH_MS)
    late = store.create_run(NewRun("F", created_at=last, heartbeat_timeout=MAX_HEARTBEAT_TIMEOUT))
    early = store.create_run(NewRun("F", created_at=first))
    assert store.heartbeat(late.pathspec, last).heartbeat_at == last
    found = store.find_runs(RunFilter("F", statuses=frozenset({Status.RUNNING})))
    assert {r.pathspec for r in found} == {late.pathspec, early.pathspec}
    assert store.get_run(early.pathspec).created_at == first
