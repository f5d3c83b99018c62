"""Small builders of history for the contract tests."""

from __future__ import annotations

from flowtrail.model import NewRun, NewStep, NewTask, Pathspec, RunRecord, StepKind
from flowtrail.store import MetadataStore


def run_with_task(
    store: MetadataStore, flow: str = "F", step: str = "start", task_id: str = "1"
) -> tuple[RunRecord, Pathspec]:
    """A run with one step and one task; returns the run and the task's pathspec."""
    run = store.create_run(NewRun(flow))
    step_spec = run.pathspec.child(step)
    store.create_step(NewStep(step_spec, StepKind.START))
    task = store.create_task(NewTask(step_spec.child(task_id)))
    return run, task.pathspec
