"""``HttpStore``: the metadata store contract over the flowtrail service's JSON API.

Each method is one request; the records come back through :mod:`flowtrail.wire`, and errors
come back as the class the service's store raised. Reads, ``write_batch`` (idempotent by its
``batch_id``), status changes, heartbeats, tag changes, ``finish_attempt``,
``record_artifacts`` and ``append_log_lines`` are idempotent and retried on connection
errors and 5xx answers; ``create_*``, ``start_attempt`` and ``record_metadata`` are retried
only when the request never reached the service.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from flowtrail.errors import InvalidTag
from flowtrail.model import (
    ArtifactRecord,
    AttemptEnd,
    AttemptRecord,
    Batch,
    BatchResult,
    FlowRecord,
    Level,
    LogLine,
    LogStream,
    MetadataEntry,
    MetadataValue,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    Page,
    PageRequest,
    Pathspec,
    RunFilter,
    RunRecord,
    Status,
    StepRecord,
    TagCount,
    TaskRecord,
    to_epoch_ms,
    validate_tag,
)
from flowtrail.store.base import MetadataStore
from flowtrail.store.http.transport import RetryPolicy, ServiceClient, build_client
from flowtrail.wire import (
    ArtifactModel,
    AttemptEndModel,
    AttemptModel,
    BatchResultModel,
    ExistsModel,
    FlowModel,
    LogLinesModel,
    MetadataEntryModel,
    MetadataValueModel,
    NewArtifactModel,
    NewAttemptModel,
    NewLogLineModel,
    NewMetadataModel,
    NewRunModel,
    NewStepModel,
    NewTaskModel,
    PageModel,
    PageQuery,
    RunModel,
    RunsQuery,
    StepModel,
    TagCountModel,
    TaskModel,
)
from flowtrail.wire.payloads import batch_payload

__all__ = ["HttpStore", "connect_http_store"]

M = TypeVar("M", bound=BaseModel)


def _ms(at: datetime | None) -> int | None:
    return None if at is None else to_epoch_ms(at)


def _body(data: Mapping[str, Any] | BaseModel) -> bytes:
    if isinstance(data, BaseModel):
        return data.model_dump_json().encode()
    return json.dumps(data, allow_nan=False).encode()


class HttpStore(MetadataStore):
    """A :class:`~flowtrail.store.MetadataStore` that is a client of the flowtrail service.

    Args:
        client: An ``httpx.Client`` whose ``base_url`` is the service (``TestClient(app)``
            in tests); :func:`connect_http_store` builds one from a URL and a token. The
            store closes it in :meth:`close`.
        retry: How long idempotent calls keep trying (default: 30 s in all).
    """

    def __init__(self, client: httpx.Client, *, retry: RetryPolicy | None = None) -> None:
        self._service = ServiceClient(client, retry)

    @property
    def url(self) -> str:
        """The service's URL, any password masked."""
        return self._service.url

    def close(self) -> None:
        """Close the HTTP client; idempotent."""
        self._service.close()

    def __repr__(self) -> str:
        return f"HttpStore({self.url!r})"

    # -- plumbing ------------------------------------------------------------------------

    def _get(self, path: str, model: type[M], params: Mapping[str, Any]) -> M:
        response = self._service.call("GET", path, idempotent=True, params=params)
        return model.model_validate_json(response.content)

    def _post(
        self, path: str, model: type[M], body: Mapping[str, Any] | BaseModel, *, idempotent: bool
    ) -> M:
        response = self._service.call("POST", path, idempotent=idempotent, json=_body(body))
        return model.model_validate_json(response.content)

    def _post_empty(self, path: str, body: BaseModel | Mapping[str, Any]) -> None:
        self._service.call("POST", path, idempotent=True, json=_body(body))

    @staticmethod
    def _params(target: Pathspec, page: PageRequest | None, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"pathspec": str(target), **PageQuery.params(page)}
        params.update({k: v for k, v in extra.items() if v is not None})
        return params

    # -- flows -----------------------------------------------------------------------------

    def create_flow(
        self, name: str, metadata: Mapping[str, MetadataValue] | None = None
    ) -> FlowRecord:
        values = {
            k: MetadataValueModel.of(MetadataValue.of(v)) for k, v in (metadata or {}).items()
        }
        body = {"name": name, "metadata": {k: v.model_dump() for k, v in values.items()}}
        return self._post("/flows", FlowModel, body, idempotent=False).to_record()

    def get_flow(self, name: str) -> FlowRecord:
        return self._get(f"/flows/{quote(str(name), safe='')}", FlowModel, {}).to_record()

    def find_flows(self, page: PageRequest | None = None) -> Page[FlowRecord]:
        got = self._get("/flows", PageModel[FlowModel], PageQuery.params(page))
        return got.to_page(FlowModel.to_record)

    # -- runs ------------------------------------------------------------------------------

    def create_run(self, run: NewRun) -> RunRecord:
        return self._post("/runs", RunModel, NewRunModel.of(run), idempotent=False).to_record()

    def get_run(self, run: Pathspec) -> RunRecord:
        return self._get("/run", RunModel, {"pathspec": str(run)}).to_record()

    def run_exists(self, run: Pathspec, *, namespace: str | None = None) -> bool:
        run.expect(Level.RUN)
        if namespace is not None:
            validate_tag(namespace)
        params = {"pathspec": str(run)} | ({} if namespace is None else {"namespace": namespace})
        return self._get("/run/exists", ExistsModel, params).exists

    def find_runs(
        self, filter: RunFilter | None = None, page: PageRequest | None = None
    ) -> Page[RunRecord]:
        got = self._get("/runs", PageModel[RunModel], RunsQuery.params(filter, page))
        return got.to_page(RunModel.to_record)

    def find_tags(
        self,
        flow_name: str | None = None,
        prefix: str | None = None,
        page: PageRequest | None = None,
        *,
        namespace: str | None = None,
    ) -> Page[TagCount]:
        params: dict[str, Any] = dict(PageQuery.params(page))
        if flow_name is not None:
            params["flow"] = flow_name
        if prefix is not None:
            params["prefix"] = prefix
        if namespace is not None:
            params["namespace"] = namespace
        got = self._get("/tags", PageModel[TagCountModel], params)
        return got.to_page(TagCountModel.to_record)

    def set_run_status(
        self, run: Pathspec, status: Status, at: datetime | None = None
    ) -> RunRecord:
        body = {"pathspec": str(run), "status": str(Status(status)), "at": _ms(at)}
        return self._post("/runs/status", RunModel, body, idempotent=True).to_record()

    def heartbeat(self, run: Pathspec, at: datetime | None = None) -> RunRecord:
        body = {"pathspec": str(run), "at": _ms(at)}
        return self._post("/runs/heartbeat", RunModel, body, idempotent=True).to_record()

    def delete_run(self, run: Pathspec) -> None:
        # Not retried after a 5xx: a repeat of a delete that went through is a NotFound.
        self._service.call("DELETE", "/run", idempotent=False, params={"pathspec": str(run)})

    def add_tags(self, run: Pathspec, tags: Iterable[str]) -> RunRecord:
        body = {"pathspec": str(run), "tags": _tag_list("add", tags)}
        return self._post("/runs/tags/add", RunModel, body, idempotent=True).to_record()

    def remove_tags(self, run: Pathspec, tags: Iterable[str]) -> RunRecord:
        body = {"pathspec": str(run), "tags": _tag_list("remove", tags)}
        return self._post("/runs/tags/remove", RunModel, body, idempotent=True).to_record()

    def replace_tags(self, run: Pathspec, remove: Iterable[str], add: Iterable[str]) -> RunRecord:
        body = {
            "pathspec": str(run),
            "remove": _tag_list("remove", remove),
            "add": _tag_list("add", add),
        }
        return self._post("/runs/tags/replace", RunModel, body, idempotent=True).to_record()

    # -- steps and tasks -------------------------------------------------------------------

    def create_step(self, step: NewStep) -> StepRecord:
        return self._post("/steps", StepModel, NewStepModel.of(step), idempotent=False).to_record()

    def get_step(self, step: Pathspec) -> StepRecord:
        return self._get("/step", StepModel, {"pathspec": str(step)}).to_record()

    def find_steps(self, run: Pathspec, page: PageRequest | None = None) -> Page[StepRecord]:
        got = self._get("/steps", PageModel[StepModel], self._params(run, page))
        return got.to_page(StepModel.to_record)

    def create_task(self, task: NewTask) -> TaskRecord:
        return self._post("/tasks", TaskModel, NewTaskModel.of(task), idempotent=False).to_record()

    def get_task(self, task: Pathspec) -> TaskRecord:
        return self._get("/task", TaskModel, {"pathspec": str(task)}).to_record()

    def find_tasks(self, scope: Pathspec, page: PageRequest | None = None) -> Page[TaskRecord]:
        got = self._get("/tasks", PageModel[TaskModel], self._params(scope, page))
        return got.to_page(TaskModel.to_record)

    def find_child_tasks(self, task: Pathspec, page: PageRequest | None = None) -> Page[TaskRecord]:
        got = self._get("/tasks/children", PageModel[TaskModel], self._params(task, page))
        return got.to_page(TaskModel.to_record)

    def set_task_status(
        self, task: Pathspec, status: Status, at: datetime | None = None
    ) -> TaskRecord:
        body = {"pathspec": str(task), "status": str(Status(status)), "at": _ms(at)}
        return self._post("/tasks/status", TaskModel, body, idempotent=True).to_record()

    # -- attempts --------------------------------------------------------------------------

    def start_attempt(self, attempt: NewAttempt) -> AttemptRecord:
        body = NewAttemptModel.of(attempt)
        return self._post("/attempts", AttemptModel, body, idempotent=False).to_record()

    def finish_attempt(self, end: AttemptEnd) -> AttemptRecord:
        body = AttemptEndModel.of(end)
        return self._post("/attempts/end", AttemptModel, body, idempotent=True).to_record()

    def get_attempt(self, task: Pathspec, number: int | None = None) -> AttemptRecord:
        params: dict[str, Any] = {"pathspec": str(task)}
        if number is not None:
            params["number"] = number
        return self._get("/attempt", AttemptModel, params).to_record()

    def find_attempts(self, task: Pathspec, page: PageRequest | None = None) -> Page[AttemptRecord]:
        got = self._get("/attempts", PageModel[AttemptModel], self._params(task, page))
        return got.to_page(AttemptModel.to_record)

    # -- metadata, artifacts, logs ---------------------------------------------------------

    def record_metadata(self, entries: Sequence[NewMetadata]) -> None:
        body = {"entries": [NewMetadataModel.of(e).model_dump(mode="json") for e in entries]}
        self._service.call("POST", "/metadata", idempotent=False, json=_body(body))

    def find_metadata(
        self,
        target: Pathspec,
        page: PageRequest | None = None,
        *,
        attempt: int | None = None,
        field_name: str | None = None,
    ) -> Page[MetadataEntry]:
        params = self._params(target, page, attempt=attempt, field_name=field_name)
        got = self._get("/metadata", PageModel[MetadataEntryModel], params)
        return got.to_page(MetadataEntryModel.to_record)

    def record_artifacts(self, artifacts: Sequence[NewArtifact]) -> None:
        body = {"artifacts": [NewArtifactModel.of(a).model_dump(mode="json") for a in artifacts]}
        self._post_empty("/artifacts", body)

    def get_artifact(self, artifact: Pathspec, attempt: int | None = None) -> ArtifactRecord:
        params: dict[str, Any] = {"pathspec": str(artifact)}
        if attempt is not None:
            params["attempt"] = attempt
        return self._get("/artifact", ArtifactModel, params).to_record()

    def find_artifacts(
        self, task: Pathspec, page: PageRequest | None = None, *, attempt: int | None = None
    ) -> Page[ArtifactRecord]:
        params = self._params(task, page, attempt=attempt)
        got = self._get("/artifacts", PageModel[ArtifactModel], params)
        return got.to_page(ArtifactModel.to_record)

    def append_log_lines(self, lines: Sequence[NewLogLine]) -> None:
        body = {"lines": [NewLogLineModel.of(line).model_dump(mode="json") for line in lines]}
        self._post_empty("/logs", body)

    def read_log_lines(
        self,
        task: Pathspec,
        *,
        attempt: int,
        stream: LogStream,
        offset: int = 0,
        limit: int = 1000,
    ) -> list[LogLine]:
        params = {
            "pathspec": str(task),
            "attempt": attempt,
            "stream": str(LogStream(stream)),
            "offset": offset,
            "limit": limit,
        }
        got = self._get("/logs", LogLinesModel, params)
        return [line.to_record() for line in got.items]

    # -- batches ---------------------------------------------------------------------------

    def write_batch(self, batch: Batch) -> BatchResult:
        # Plain JSON straight from the checked records: the service validates it whole.
        body = batch_payload(batch)
        return self._post("/batches", BatchResultModel, body, idempotent=True).to_record()


def _tag_list(what: str, tags: Iterable[str]) -> list[str]:
    # Checked here as the SQL store checks it: a bare string would travel as a list of one.
    if isinstance(tags, str):
        raise InvalidTag(
            f"tags to {what} must be a collection of strings, got the string {tags!r} "
            f"(write [{tags!r}])"
        )
    return list(tags)


def connect_http_store(
    url: str,
    *,
    token: str | None = None,
    timeout: float = 30.0,
    retry: RetryPolicy | None = None,
) -> HttpStore:
    """An :class:`HttpStore` for the service at ``url`` (``http://host:8080``).

    Args:
        url: The service's URL.
        token: Sent as ``Authorization: Bearer <token>`` (entry points read it from
            ``FLOWTRAIL_SERVICE_TOKEN``).
        timeout: Seconds one request may take.
        retry: How long idempotent calls keep trying.

    Raises:
        InvalidArgument: ``url`` is not an ``http://`` or ``https://`` URL.
    """
    return HttpStore(build_client(url, token=token, timeout=timeout), retry=retry)
