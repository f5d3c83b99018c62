"""Contract: deleting a run takes everything recorded under it, and nothing else."""

from __future__ import annotations

import pytest

from flowtrail.errors import InvalidTransition, NotFound
from flowtrail.model import (
    AttemptEnd,
    Batch,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    PageRequest,
    Pathspec,
    RunFilter,
    Status,
)
from flowtrail.store import MetadataStore


def _recorded_run(store: MetadataStore, run_id: str) -> Pathspec:
    run = store.create_run(NewRun("F", run_id=run_id, tags=frozenset({"keep"}))).pathspec
    task = run.child("start").child("1")
    store.write_batch(
        Batch(
            f"batch-{run_id}",
            run,
            steps=(NewStep(run.child("start")),),
            tasks=(NewTask(task),),
            attempts=(NewAttempt(task, 0),),
            metadata=(NewMetadata(run, "k", "v"), NewMetadata(task, "m", 1)),
            artifacts=(NewArtifact(task.child("x"), 0, "a" * 64, 1, "builtins.int", "json", 1),),
            log_lines=(NewLogLine(task, 0, "stdout", 0, "hello"),),
            attempt_ends=(AttemptEnd(task, 0, Status.SUCCEEDED),),
        )
    )
    return run


def test_delete_run_takes_its_records_and_nothing_else(store: MetadataStore) -> None:
    gone = _recorded_run(store, "a")
    kept = _recorded_run(store, "b")
    store.set_run_status(gone, Status.SUCCEEDED)
    store.delete_run(gone)
    with pytest.raises(NotFound):
        store.get_run(gone)
    assert [r.run_id for r in store.find_runs(RunFilter("F"))] == ["b"]
    assert store.get_flow("F").name == "F"
    assert len(store.find_tasks(kept, PageRequest(10)).items) == 1
    assert store.get_artifact(kept.child("start").child("1").child("x")).value == 1
    assert [t.runs for t in store.find_tags("F") if t.tag == "keep"] == [1]
    # The same id can be used again, and the batch ids of the deleted run with it.
    again = store.create_run(NewRun("F", run_id="a")).pathspec
    assert store.write_batch(Batch("batch-a", again)).applied


def test_delete_run_refuses_a_running_run_and_an_unknown_one(store: MetadataStore) -> None:
    run = _recorded_run(store, "a")
    with pytest.raises(InvalidTransition, match="F/a is running"):
        store.delete_run(run)
    assert store.get_run(run).status is Status.RUNNING
    with pytest.raises(NotFound):
        store.delete_run(Pathspec("F", "nope"))
