"""Write endpoints: thin routes over the store's ``create_*``, ``set_*``, ``record_*`` and
``write_batch``. Every route needs the ``write`` role. A body is checked whole (its models,
then the inputs it builds) before the store is called, so a refused request writes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from flowtrail.model import Level, validate_name
from flowtrail.service.auth import Role
from flowtrail.service.deps import StoreDep, json_response, need, parse_spec, state_of
from flowtrail.wire import (
    API_PREFIX,
    AttemptEndModel,
    AttemptModel,
    BatchModel,
    BatchResultModel,
    ErrorEnvelope,
    FlowModel,
    HeartbeatModel,
    NewArtifactsModel,
    NewAttemptModel,
    NewFlowModel,
    NewLogLinesModel,
    NewMetadataListModel,
    NewRunModel,
    NewStepModel,
    NewTaskModel,
    OneQuery,
    ReplaceTagsModel,
    RunModel,
    StatusChangeModel,
    StepModel,
    TagsModel,
    TaskModel,
    at_field,
)
from flowtrail.wire.records import time_or_none, value_map

__all__ = ["router"]

_ERRORS = {
    code: {"model": ErrorEnvelope, "description": text}
    for code, text in (
        (400, "A malformed body: the message names the field"),
        (401, "No valid token"),
        (403, "The token's role does not allow it"),
        (404, "A parent object does not exist"),
        (409, "The object exists already, or the status change is not allowed"),
        (413, "The body is larger than the service accepts"),
    )
}

router = APIRouter(prefix=API_PREFIX, dependencies=[need(Role.WRITE)], responses=_ERRORS)  # type: ignore[arg-type]


@router.post("/flows", response_model=FlowModel, status_code=201, tags=["flows"])
def create_flow(body: NewFlowModel, store: StoreDep) -> Response:
    """Record a flow before any run of it."""
    with at_field("body.name"):
        validate_name("flow", body.name)
    with at_field("body.metadata"):
        metadata = value_map(body.metadata)
    return json_response(FlowModel.of(store.create_flow(body.name, metadata)), 201)


@router.post("/runs", response_model=RunModel, status_code=201, tags=["runs"])
def create_run(body: NewRunModel, store: StoreDep, request: Request) -> Response:
    """Create a run (and its flow, if new)."""
    record = store.create_run(body.to_input())
    state_of(request).metrics.runs_created.inc()
    return json_response(RunModel.of(record), 201)


@router.post("/runs/status", response_model=RunModel, tags=["runs"])
def set_run_status(body: StatusChangeModel, store: StoreDep) -> Response:
    """Record a run's new status."""
    run = parse_spec(body.pathspec, Level.RUN, "body.pathspec")
    with at_field("body.at"):
        at = time_or_none(body.at)
    return json_response(RunModel.of(store.set_run_status(run, body.status, at)))


@router.post("/runs/heartbeat", response_model=RunModel, tags=["runs"])
def heartbeat(body: HeartbeatModel, store: StoreDep) -> Response:
    """Record that a run's writer is alive."""
    run = parse_spec(body.pathspec, Level.RUN, "body.pathspec")
    with at_field("body.at"):
        at = time_or_none(body.at)
    return json_response(RunModel.of(store.heartbeat(run, at)))


@router.post("/runs/tags/add", response_model=RunModel, tags=["runs"])
def add_tags(body: TagsModel, store: StoreDep) -> Response:
    """Add user tags to a run, atomically."""
    run = parse_spec(body.pathspec, Level.RUN, "body.pathspec")
    return json_response(RunModel.of(store.add_tags(run, body.tags)))


@router.post("/runs/tags/remove", response_model=RunModel, tags=["runs"])
def remove_tags(body: TagsModel, store: StoreDep) -> Response:
    """Remove user tags from a run, atomically."""
    run = parse_spec(body.pathspec, Level.RUN, "body.pathspec")
    return json_response(RunModel.of(store.remove_tags(run, body.tags)))


@router.post("/runs/tags/replace", response_model=RunModel, tags=["runs"])
def replace_tags(body: ReplaceTagsModel, store: StoreDep) -> Response:
    """Remove then add user tags in one transaction."""
    run = parse_spec(body.pathspec, Level.RUN, "body.pathspec")
    return json_response(RunModel.of(store.replace_tags(run, body.remove, body.add)))


@router.delete("/run", status_code=204, tags=["runs"], dependencies=[need(Role.ADMIN)])
def delete_run(q: Annotated[OneQuery, Query()], store: StoreDep) -> Response:
    """Delete a finished run and everything recorded under it (needs the admin role)."""
    store.delete_run(parse_spec(q.pathspec, Level.RUN))
    return Response(status_code=204)


@router.post("/steps", response_model=StepModel, status_code=201, tags=["steps"])
def create_step(body: NewStepModel, store: StoreDep) -> Response:
    """Record a step of a run."""
    return json_response(StepModel.of(store.create_step(body.to_input())), 201)


@router.post("/tasks", response_model=TaskModel, status_code=201, tags=["tasks"])
def create_task(body: NewTaskModel, store: StoreDep, request: Request) -> Response:
    """Record a task of a step."""
    record = store.create_task(body.to_input())
    state_of(request).metrics.tasks_recorded.inc()
    return json_response(TaskModel.of(record), 201)


@router.post("/tasks/status", response_model=TaskModel, tags=["tasks"])
def set_task_status(body: StatusChangeModel, store: StoreDep) -> Response:
    """Record a task's new status."""
    change = body.to_input()
    return json_response(
        TaskModel.of(store.set_task_status(change.pathspec, change.status, change.at))
    )


@router.post("/attempts", response_model=AttemptModel, status_code=201, tags=["attempts"])
def start_attempt(body: NewAttemptModel, store: StoreDep) -> Response:
    """Record an attempt starting."""
    return json_response(AttemptModel.of(store.start_attempt(body.to_input())), 201)


@router.post("/attempts/end", response_model=AttemptModel, tags=["attempts"])
def finish_attempt(body: AttemptEndModel, store: StoreDep) -> Response:
    """Record an attempt's final status (repeating it is a no-op)."""
    return json_response(AttemptModel.of(store.finish_attempt(body.to_input())))


@router.post("/metadata", status_code=204, tags=["metadata"])
def record_metadata(body: NewMetadataListModel, store: StoreDep) -> Response:
    """Append metadata entries (all of one run) in one transaction."""
    store.record_metadata(body.to_inputs())
    return Response(status_code=204)


@router.post("/artifacts", status_code=204, tags=["artifacts"])
def record_artifacts(body: NewArtifactsModel, store: StoreDep) -> Response:
    """Index artifacts whose bytes are in the blob store (idempotent)."""
    store.record_artifacts(body.to_inputs())
    return Response(status_code=204)


@router.post("/logs", status_code=204, tags=["logs"])
def append_log_lines(body: NewLogLinesModel, store: StoreDep) -> Response:
    """Append log lines (idempotent per line)."""
    store.append_log_lines(body.to_inputs())
    return Response(status_code=204)


@router.post("/batches", response_model=BatchResultModel, tags=["batches"])
def write_batch(body: BatchModel, store: StoreDep, request: Request) -> Response:
    """Write a batch in one transaction; a batch id applied before is not applied again."""
    batch = body.to_input()
    result = store.write_batch(batch)
    if result.applied:
        state_of(request).metrics.tasks_recorded.inc(len(batch.tasks))
    return json_response(BatchResultModel.of(result))
