"""Contract: steps, tasks and attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowtrail.errors import AlreadyExists, InvalidArgument, InvalidTransition, NotFound
from flowtrail.model import (
    AttemptEnd,
    ExceptionInfo,
    ForeachFrame,
    NewAttempt,
    NewRun,
    NewStep,
    NewTask,
    PageRequest,
    Pathspec,
    Status,
    StepKind,
)
from flowtrail.store import MetadataStore
from tests.contract.history import run_with_task


def test_steps(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F")).pathspec
    start = store.create_step(NewStep(run.child("start"), StepKind.START, ("train",)))
    assert start.kind is StepKind.START
    assert start.next_steps == ("train",)
    store.create_step(NewStep(run.child("train"), StepKind.FOREACH, ("join",)))
    assert store.get_step(run.child("start")) == start
    assert [s.name for s in store.find_steps(run)] == ["train", "start"]
    assert [s.name for s in store.find_steps(run, PageRequest(1))] == ["train"]
    with pytest.raises(AlreadyExists, match="F/1/start exists already"):
        store.create_step(NewStep(run.child("start")))
    with pytest.raises(NotFound, match="step 'F/1/nope' does not exist"):
        store.get_step(run.child("nope"))
    with pytest.raises(NotFound, match="run 'F/2' does not exist"):
        store.create_step(NewStep(Pathspec("F", "2", "start")))


def test_tasks_of_a_step_oldest_first(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F")).pathspec
    step = run.child("train")
    store.create_step(NewStep(step, StepKind.FOREACH))
    for i in range(5):
        store.create_task(
            NewTask(step.child(str(10 + i)), foreach_stack=(ForeachFrame("start", i, 5),))
        )
    tasks = store.find_tasks(step)
    assert [t.task_id for t in tasks] == ["10", "11", "12", "13", "14"]
    assert [t.foreach_index for t in tasks] == [0, 1, 2, 3, 4]
    page = store.find_tasks(step, PageRequest(2))
    rest = store.find_tasks(step, page.next_request(10))
    assert [t.task_id for t in page] + [t.task_id for t in rest] == [t.task_id for t in tasks]
    assert len(store.find_tasks(run)) == 5


def test_task_record_round_trip_and_lookup(store: MetadataStore) -> None:
    run, start_task = run_with_task(store)
    join = run.pathspec.child("join")
    store.create_step(NewStep(join, StepKind.JOIN))
    task = store.create_task(
        NewTask(
            join.child("7"),
            foreach_stack=(ForeachFrame("start", 2, 3),),
            parent_tasks=(start_task,),
            origin_pathspec=Pathspec.parse("F/0/join/3"),
        )
    )
    assert store.get_task(task.pathspec) == task
    assert task.status is Status.RUNNING
    assert task.finished_at is None
    assert task.parent_tasks == (start_task,)
    assert task.foreach_index == 2
    assert task.origin_pathspec == Pathspec.parse("F/0/join/3")
    with pytest.raises(NotFound, match="is in step 'join'"):
        store.get_task(run.pathspec.child("start").child("7"))
    with pytest.raises(NotFound, match="task 'F/1/join/99' does not exist"):
        store.get_task(join.child("99"))
    with pytest.raises(NotFound, match="run 'F/9' does not exist"):
        store.get_task(Pathspec.parse("F/9/join/7"))
    with pytest.raises(NotFound, match="flow 'Nope' does not exist"):
        store.get_task(Pathspec.parse("Nope/1/join/7"))


def test_task_ids_are_unique_in_a_run(store: MetadataStore) -> None:
    run, _ = run_with_task(store)
    store.create_step(NewStep(run.pathspec.child("end"), StepKind.END))
    with pytest.raises(AlreadyExists, match="has a task '1' already"):
        store.create_task(NewTask(run.pathspec.child("end").child("1")))
    with pytest.raises(NotFound, match="step 'F/1/nope' does not exist"):
        store.create_task(NewTask(run.pathspec.child("nope").child("2")))


def test_parent_and_child_tasks(store: MetadataStore) -> None:
    run, start = run_with_task(store)
    train = run.pathspec.child("train")
    store.create_step(NewStep(train, StepKind.LINEAR))
    children = [
        store.create_task(NewTask(train.child(str(i)), parent_tasks=(start,))).pathspec
        for i in (2, 3)
    ]
    assert [t.pathspec for t in store.find_child_tasks(start)] == children
    assert store.find_child_tasks(children[0]).items == ()
    with pytest.raises(InvalidArgument, match="not in the run"):
        NewTask(train.child("4"), parent_tasks=(Pathspec.parse("F/2/start/1"),))


def test_task_status(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    failed = store.set_task_status(task, Status.FAILED)
    assert failed.status is Status.FAILED
    assert failed.finished_at is not None
    with pytest.raises(InvalidTransition, match="F/1/start/1 is failed"):
        store.set_task_status(task, Status.SUCCEEDED)


def test_attempts(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    first = store.start_attempt(NewAttempt(task, 0, host="node-1", pid=4242))
    assert first.status is Status.RUNNING
    assert first.host == "node-1"
    assert first.pid == 4242
    boom = ExceptionInfo("ValueError", "bad input", "Traceback (most recent call last): ...")
    ended = store.finish_attempt(AttemptEnd(task, 0, Status.FAILED, exception=boom))
    assert ended.status is Status.FAILED
    assert ended.exception == boom
    assert ended.finished_at is not None
    assert store.finish_attempt(AttemptEnd(task, 0, Status.FAILED, exception=boom)) == ended
    with pytest.raises(InvalidTransition):
        store.finish_attempt(AttemptEnd(task, 0, Status.SUCCEEDED))
    assert store.get_task(task).latest_attempt == 0
    store.start_attempt(NewAttempt(task, 1))
    assert store.get_task(task).latest_attempt == 1  # known as soon as it starts
    store.finish_attempt(AttemptEnd(task, 1, Status.SUCCEEDED))
    assert store.get_attempt(task).number == 1
    assert [t.latest_attempt for t in store.find_tasks(task.parent)] == [1]
    assert store.get_attempt(task, 0) == ended
    assert [a.number for a in store.find_attempts(task)] == [0, 1]
    with pytest.raises(AlreadyExists, match="has an attempt 1 already"):
        store.start_attempt(NewAttempt(task, 1))
    with pytest.raises(NotFound, match="has no attempt 5"):
        store.get_attempt(task, 5)
    with pytest.raises(NotFound, match="has no attempt 5"):
        store.finish_attempt(AttemptEnd(task, 5, Status.FAILED))


def test_a_task_without_attempts(store: MetadataStore) -> None:
    _, task = run_with_task(store)
    with pytest.raises(NotFound, match="has no attempts yet"):
        store.get_attempt(task)
    assert store.find_attempts(task).items == ()
    assert store.get_task(task).latest_attempt is None


def test_a_step_finished_when_its_latest_task_did(store: MetadataStore) -> None:
    run = store.create_run(NewRun("F")).pathspec
    step = run.child("train")
    store.create_step(NewStep(step, StepKind.FOREACH))
    assert store.get_step(step).finished_at is None
    tasks = [step.child(str(i)) for i in range(1, 4)]
    for task in tasks:
        store.create_task(NewTask(task))
        store.set_task_status(task, Status.RUNNING)
    assert store.get_step(step).finished_at is None  # none has finished
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    store.set_task_status(tasks[0], Status.SUCCEEDED, at=t0 + timedelta(minutes=5))
    store.set_task_status(tasks[1], Status.FAILED, at=t0 + timedelta(minutes=2))
    assert store.get_step(step).finished_at == t0 + timedelta(minutes=5)
    assert store.find_steps(run).items[0].finished_at == t0 + timedelta(minutes=5)
    store.set_task_status(tasks[2], Status.SUCCEEDED, at=t0 + timedelta(minutes=9))
    assert store.get_step(step).finished_at == t0 + timedelta(minutes=9)
