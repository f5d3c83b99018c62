"""Read endpoints: thin routes over the store's ``get_*`` and ``find_*`` methods.

Every route needs the ``read`` role; every listing takes ``limit`` (at most 1000: more is
refused, never clamped) and ``cursor``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from flowtrail.model import Level, Pathspec, validate_name
from flowtrail.model.limits import check_log_limit
from flowtrail.service.auth import Role
from flowtrail.service.deps import StoreDep, json_response, need, parse_spec
from flowtrail.wire import (
    API_PREFIX,
    ArtifactModel,
    ArtifactsQuery,
    AttemptModel,
    ErrorEnvelope,
    ExistsModel,
    FlowModel,
    LogLineModel,
    LogLinesModel,
    LogsQuery,
    MetadataEntryModel,
    MetadataQuery,
    OneArtifactQuery,
    OneAttemptQuery,
    OneQuery,
    PageModel,
    PageQuery,
    PathspecQuery,
    RunExistsQuery,
    RunModel,
    RunsQuery,
    StepModel,
    TagCountModel,
    TagsQuery,
    TaskModel,
    at_field,
)

__all__ = ["router"]

_ERRORS = {
    code: {"model": ErrorEnvelope, "description": text}
    for code, text in (
        (400, "A malformed parameter"),
        (401, "No valid token"),
        (403, "The token's role does not allow it"),
        (404, "No such object"),
    )
}

router = APIRouter(prefix=API_PREFIX, dependencies=[need(Role.READ)], responses=_ERRORS)  # type: ignore[arg-type]


@router.get("/flows", response_model=PageModel[FlowModel], tags=["flows"])
def find_flows(q: Annotated[PageQuery, Query()], store: StoreDep) -> Response:
    """List flows by name."""
    return json_response(PageModel[FlowModel].of(store.find_flows(q.to_request()), FlowModel.of))


@router.get("/flows/{name}", response_model=FlowModel, tags=["flows"])
def get_flow(name: str, store: StoreDep) -> Response:
    """One flow."""
    with at_field("path.name"):
        validate_name("flow", name)
    return json_response(FlowModel.of(store.get_flow(name)))


@router.get("/runs", response_model=PageModel[RunModel], tags=["runs"])
def find_runs(q: Annotated[RunsQuery, Query()], store: StoreDep) -> Response:
    """Search runs: newest first, or in ``order_by`` order."""
    page = store.find_runs(q.to_filter(), q.to_request())
    return json_response(PageModel[RunModel].of(page, RunModel.of))


@router.get("/run", response_model=RunModel, tags=["runs"])
def get_run(q: Annotated[OneQuery, Query()], store: StoreDep) -> Response:
    """One run (``pathspec=Flow/run_id``)."""
    return json_response(RunModel.of(store.get_run(parse_spec(q.pathspec, Level.RUN))))


@router.get("/run/exists", response_model=ExistsModel, tags=["runs"])
def run_exists(q: Annotated[RunExistsQuery, Query()], store: StoreDep) -> Response:
    """Whether a run exists (``pathspec=Flow/run_id``), carrying the tag ``namespace`` when
    one is given."""
    run = parse_spec(q.pathspec, Level.RUN)
    return json_response(ExistsModel(exists=store.run_exists(run, namespace=q.namespace)))


@router.get("/tags", response_model=PageModel[TagCountModel], tags=["runs"])
def find_tags(q: Annotated[TagsQuery, Query()], store: StoreDep) -> Response:
    """The tags runs carry, by tag, with their run counts."""
    page = store.find_tags(q.flow, q.prefix, q.to_request(), namespace=q.namespace)
    return json_response(PageModel[TagCountModel].of(page, TagCountModel.of))


@router.get("/steps", response_model=PageModel[StepModel], tags=["steps"])
def find_steps(q: Annotated[PathspecQuery, Query()], store: StoreDep) -> Response:
    """The steps of a run (``pathspec=Flow/run_id``), newest first."""
    page = store.find_steps(parse_spec(q.pathspec, Level.RUN), q.to_request())
    return json_response(PageModel[StepModel].of(page, StepModel.of))


@router.get("/step", response_model=StepModel, tags=["steps"])
def get_step(q: Annotated[OneQuery, Query()], store: StoreDep) -> Response:
    """One step (``pathspec=Flow/run_id/step``)."""
    return json_response(StepModel.of(store.get_step(parse_spec(q.pathspec, Level.STEP))))


@router.get("/tasks", response_model=PageModel[TaskModel], tags=["tasks"])
def find_tasks(q: Annotated[PathspecQuery, Query()], store: StoreDep) -> Response:
    """The tasks of a step or a whole run, oldest first."""
    scope = parse_spec(q.pathspec, None)
    page = store.find_tasks(scope, q.to_request())
    return json_response(PageModel[TaskModel].of(page, TaskModel.of))


@router.get("/tasks/children", response_model=PageModel[TaskModel], tags=["tasks"])
def find_child_tasks(q: Annotated[PathspecQuery, Query()], store: StoreDep) -> Response:
    """The tasks that name a task among their parents, oldest first."""
    page = store.find_child_tasks(parse_spec(q.pathspec, Level.TASK), q.to_request())
    return json_response(PageModel[TaskModel].of(page, TaskModel.of))


@router.get("/task", response_model=TaskModel, tags=["tasks"])
def get_task(q: Annotated[OneQuery, Query()], store: StoreDep) -> Response:
    """One task (``pathspec=Flow/run_id/step/task_id``)."""
    return json_response(TaskModel.of(store.get_task(parse_spec(q.pathspec, Level.TASK))))


@router.get("/attempts", response_model=PageModel[AttemptModel], tags=["attempts"])
def find_attempts(q: Annotated[PathspecQuery, Query()], store: StoreDep) -> Response:
    """The attempts of a task, 0 first."""
    page = store.find_attempts(parse_spec(q.pathspec, Level.TASK), q.to_request())
    return json_response(PageModel[AttemptModel].of(page, AttemptModel.of))


@router.get("/attempt", response_model=AttemptModel, tags=["attempts"])
def get_attempt(q: Annotated[OneAttemptQuery, Query()], store: StoreDep) -> Response:
    """One attempt of a task; the latest without ``number``."""
    record = store.get_attempt(parse_spec(q.pathspec, Level.TASK), q.number)
    return json_response(AttemptModel.of(record))


@router.get("/metadata", response_model=PageModel[MetadataEntryModel], tags=["metadata"])
def find_metadata(q: Annotated[MetadataQuery, Query()], store: StoreDep) -> Response:
    """The metadata of a run or a task, oldest first."""
    target: Pathspec = parse_spec(q.pathspec, None)
    page = store.find_metadata(target, q.to_request(), attempt=q.attempt, field_name=q.field_name)
    return json_response(PageModel[MetadataEntryModel].of(page, MetadataEntryModel.of))


@router.get("/artifacts", response_model=PageModel[ArtifactModel], tags=["artifacts"])
def find_artifacts(q: Annotated[ArtifactsQuery, Query()], store: StoreDep) -> Response:
    """A task's artifacts by name."""
    task = parse_spec(q.pathspec, Level.TASK)
    page = store.find_artifacts(task, q.to_request(), attempt=q.attempt)
    return json_response(PageModel[ArtifactModel].of(page, ArtifactModel.of))


@router.get("/artifact", response_model=ArtifactModel, tags=["artifacts"])
def get_artifact(q: Annotated[OneArtifactQuery, Query()], store: StoreDep) -> Response:
    """One artifact (``pathspec=Flow/run_id/step/task_id/name``)."""
    record = store.get_artifact(parse_spec(q.pathspec, Level.ARTIFACT), q.attempt)
    return json_response(ArtifactModel.of(record))


@router.get("/logs", response_model=LogLinesModel, tags=["logs"])
def read_log_lines(q: Annotated[LogsQuery, Query()], store: StoreDep) -> Response:
    """Up to ``limit`` lines of one stream of one attempt, from ``seq >= offset``."""
    task = parse_spec(q.pathspec, Level.TASK)
    with at_field("query.limit"):
        check_log_limit(q.limit)
    lines = store.read_log_lines(
        task,
        attempt=q.attempt,
        stream=q.stream,
        offset=q.offset,
        limit=q.limit,
    )
    return json_response(LogLinesModel(items=[LogLineModel.of(line) for line in lines]))
