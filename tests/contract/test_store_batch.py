"""Contract: the batch write — one transaction, all or nothing, applied once per id."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from flowtrail.errors import AlreadyExists, InvalidArgument, InvalidTransition, NotFound
from flowtrail.model import (
    AttemptEnd,
    Batch,
    ExceptionInfo,
    LogStream,
    MetadataValue,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    Pathspec,
    Status,
    StepKind,
    TaskStatusChange,
)
from flowtrail.store import MetadataStore


def _task_batch(run: Pathspec, batch_id: str, task_ids: list[str], *, step: bool) -> Batch:
    train = run.child("train")
    tasks = [train.child(t) for t in task_ids]
    return Batch(
        batch_id,
        run,
        steps=(NewStep(train, StepKind.FOREACH),) if step else (),
        tasks=tuple(NewTask(t) for t in tasks),
        attempts=tuple(NewAttempt(t, 0, host="h", pid=1) for t in tasks),
        metadata=tuple(
            NewMetadata(t, f"m{i}", MetadataValue.of(i), attempt=0) for t in tasks for i in range(5)
        ),
        artifacts=tuple(
            NewArtifact(t.child(f"a{i}"), 0, f"{i:064x}", 10, "builtins.int", "json", i)
            for t in tasks
            for i in range(5)
        ),
        log_lines=tuple(NewLogLine(t, 0, LogStream.STDOUT, 0, "hello") for t in tasks),
        attempt_ends=tuple(AttemptEnd(t, 0, Status.SUCCEEDED) for t in tasks),
        task_statuses=tuple(TaskStatusChange(t, Status.SUCCEEDED) for t in tasks),
        heartbeat=True,
    )


def _counts(store: MetadataStore, run: Pathspec) -> tuple[int, int, int, int]:
    tasks = store.find_tasks(run).items
    metadata = sum(len(store.find_metadata(t.pathspec)) for t in tasks)
    artifacts = sum(len(store.find_artifacts(t.pathspec)) for t in tasks)
    logs = sum(
        len(store.read_log_lines(t.pathspec, attempt=0, stream=LogStream.STDOUT)) for t in tasks
    )
    return len(tasks), metadata, artifacts, logs


def test_a_batch_records_everything(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F")).pathspec
    result = store.write_batch(_task_batch(run, "b-1", ["1", "2", "3"], step=True))
    assert result.applied
    assert result.records == 1 + 3 * (1 + 1 + 5 + 5 + 1 + 1 + 1)
    assert _counts(store, run) == (3, 15, 15, 3)
    task = store.get_task(run.child("train").child("2"))
    assert task.status is Status.SUCCEEDED
    assert task.finished_at is not None
    assert store.get_attempt(task.pathspec).status is Status.SUCCEEDED


def test_resending_a_batch_writes_nothing_twice(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F")).pathspec
    batch = _task_batch(run, "b-1", ["1", "2"], step=True)
    assert store.write_batch(batch).applied
    again = store.write_batch(batch)
    assert not again.applied
    assert again.records == batch.size
    assert _counts(store, run) == (2, 10, 10, 2)


def test_a_failing_batch_leaves_nothing_written(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F")).pathspec
    store.write_batch(_task_batch(run, "b-1", ["1"], step=True))
    bad = _task_batch(run, "b-2", ["2", "1"], step=False)  # task 1 exists already
    with pytest.raises(AlreadyExists, match="has a task '1' already"):
        store.write_batch(bad)
    assert _counts(store, run) == (1, 5, 5, 1)
    # the failed batch's id was not consumed: fixed, it can be sent again
    fixed = _task_batch(run, "b-2", ["2"], step=False)
    assert store.write_batch(fixed).applied
    assert _counts(store, run) == (2, 10, 10, 2)


def test_a_batch_with_a_missing_parent_is_refused(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F")).pathspec
    with pytest.raises(NotFound, match="step 'F/1/train' does not exist"):
        store.write_batch(_task_batch(run, "b-1", ["1"], step=False))
    with pytest.raises(NotFound, match="run 'F/2' does not exist"):
        store.write_batch(Batch("b-2", Pathspec("F", "2")))
    assert store.find_steps(run).items == ()


def test_a_batch_ends_the_run(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F")).pathspec
    store.write_batch(_task_batch(run, "b-1", ["1"], step=True))
    store.write_batch(Batch("b-2", run, run_status=Status.FAILED))
    assert store.get_run(run).status is Status.FAILED
    with pytest.raises(InvalidTransition):
        store.write_batch(Batch("b-3", run, heartbeat=True))


def test_a_batch_can_fail_an_attempt_and_retry(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F")).pathspec
    step = run.child("start")
    task = step.child("1")
    boom = ExceptionInfo("KeyError", "'x'", "Traceback ...")
    store.write_batch(
        Batch(
            "b-1",
            run,
            steps=(NewStep(step, StepKind.START),),
            tasks=(NewTask(task),),
            attempts=(NewAttempt(task, 0),),
            attempt_ends=(AttemptEnd(task, 0, Status.FAILED, exception=boom),),
        )
    )
    store.write_batch(
        Batch(
            "b-2",
            run,
            attempts=(NewAttempt(task, 1),),
            attempt_ends=(AttemptEnd(task, 1, Status.SUCCEEDED),),
            task_statuses=(TaskStatusChange(task, Status.SUCCEEDED),),
            run_status=Status.SUCCEEDED,
        )
    )
    attempts = store.find_attempts(task).items
    assert [(a.number, a.status) for a in attempts] == [
        (0, Status.FAILED),
        (1, Status.SUCCEEDED),
    ]
    assert attempts[0].exception == boom


def test_a_batch_id_belongs_to_one_run(store: MetadataStore) -> None:
    first = store.create_run(NewRun("F")).pathspec
    second = store.create_run(NewRun("F")).pathspec
    store.write_batch(Batch("shared", first, heartbeat=True))
    with pytest.raises(InvalidArgument, match="used already for another run"):
        store.write_batch(Batch("shared", second, heartbeat=True))


def test_a_batch_holds_one_run(store: MetadataStore) -> None:
    with pytest.raises(InvalidArgument, match="is for run F/1, but it holds a NewTask for F/2"):
        Batch("b", Pathspec("F", "1"), tasks=(NewTask(Pathspec.parse("F/2/start/1")),))


_T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_BOOM = ExceptionInfo("KeyError", "'x'", "Traceback ...")


def _changes(task: Pathspec) -> tuple[tuple[TaskStatusChange, ...], tuple[AttemptEnd, ...]]:
    statuses = (
        TaskStatusChange(task, Status.FAILED, at=_T0 + timedelta(seconds=1)),
        TaskStatusChange(task, Status.RUNNING, at=_T0 + timedelta(seconds=2)),
        TaskStatusChange(task, Status.RUNNING, at=_T0 + timedelta(seconds=3)),
        TaskStatusChange(task, Status.SUCCEEDED, at=_T0 + timedelta(seconds=4)),
    )
    ends = (
        AttemptEnd(task, 0, Status.FAILED, _BOOM, finished_at=_T0 + timedelta(seconds=5)),
        AttemptEnd(task, 0, Status.FAILED, finished_at=_T0 + timedelta(seconds=6)),
    )
    return statuses, ends


@pytest.mark.parametrize("together", [True, False], ids=["one batch", "two batches"])
def test_changes_to_a_task_and_attempt_apply_in_order_in_the_batch_that_creates_them(
    store: MetadataStore, together: bool
) -> None:
    # A batch that creates a task and an attempt and changes them must leave what the same
    # changes leave when sent in a later batch: the last change that changed each status
    # sets it, with its time; repeating the current status changes nothing.
    run = store.create_run(NewRun("F")).pathspec
    step = run.child("start")
    task = step.child("1")
    statuses, ends = _changes(task)
    created = Batch(
        "b-1",
        run,
        steps=(NewStep(step, StepKind.START),),
        tasks=(NewTask(task, created_at=_T0),),
        attempts=(NewAttempt(task, 0, started_at=_T0),),
        attempt_ends=ends if together else (),
        task_statuses=statuses if together else (),
    )
    store.write_batch(created)
    if not together:
        store.write_batch(Batch("b-2", run, attempt_ends=ends, task_statuses=statuses))
    recorded = store.get_task(task)
    assert (recorded.status, recorded.finished_at) == (
        Status.SUCCEEDED,
        _T0 + timedelta(seconds=4),
    )
    attempt = store.get_attempt(task, 0)
    assert (attempt.status, attempt.finished_at, attempt.exception) == (
        Status.FAILED,
        _T0 + timedelta(seconds=5),
        _BOOM,
    )


@pytest.mark.parametrize("what", ["task", "attempt"])
def test_a_refused_change_in_the_batch_that_creates_its_task_writes_nothing(
    store: MetadataStore, what: str
) -> None:
    run = store.create_run(NewRun("F")).pathspec
    step = run.child("start")
    task = step.child("1")
    later = (TaskStatusChange(task, Status.SUCCEEDED), TaskStatusChange(task, Status.RUNNING))
    ends = (AttemptEnd(task, 0, Status.SUCCEEDED), AttemptEnd(task, 0, Status.FAILED))
    batch = Batch(
        "b-1",
        run,
        steps=(NewStep(step, StepKind.START),),
        tasks=(NewTask(task),),
        attempts=(NewAttempt(task, 0),),
        attempt_ends=ends if what == "attempt" else (),
        task_statuses=later if what == "task" else (),
    )
    refused = (
        f"{task} is succeeded; it cannot become running"
        if what == "task"
        else f"attempt 0 of {task} is succeeded; it cannot become failed"
    )
    with pytest.raises(InvalidTransition, match=re.escape(refused)):
        store.write_batch(batch)
    assert store.find_steps(run).items == ()
