"""Starting a run: check its input, record it, and hand it to a scheduler.

Everything a user can get wrong (parameters, tags, execution tags, the flow's metadata, a
duplicate run id, a resume that has nothing to resume) is checked before the run is recorded,
so a bad command records nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from flowtrail.blobs import BlobStore, serialize
from flowtrail.config import Settings
from flowtrail.config.identity import current_user
from flowtrail.errors import AlreadyExists, InvalidArgument, InvalidFlow, NotFound
from flowtrail.model import (
    NewRun,
    PageRequest,
    Pathspec,
    RunFilter,
    TriggerEvent,
    validate_new_tag,
    validate_user_tags,
)
from flowtrail.model.tags import check_tag_collection
from flowtrail.runtime.codepkg import build_code_package
from flowtrail.runtime.definition import FlowDefinition, flow_definition, merge_tags
from flowtrail.runtime.exectags import ExecutionTags, parse_execution_tags
from flowtrail.runtime.executor import Executor, LocalExecutor
from flowtrail.runtime.graph import FlowGraph
from flowtrail.runtime.messages import ArtifactRef, RunContext
from flowtrail.runtime.parameters import Parameter
from flowtrail.runtime.progress import Progress
from flowtrail.runtime.resume import Origin
from flowtrail.runtime.scheduler import RunOutcome, Scheduler
from flowtrail.runtime.stores import open_run_blobs, open_run_store, run_blob_options
from flowtrail.runtime.systags import base_system_tags
from flowtrail.store import MetadataStore

__all__ = [
    "CheckedRequest",
    "RunRequest",
    "check_request",
    "flow_graph",
    "launch",
    "resolve_parameters",
]


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What to run.

    Attributes:
        parameters: Parameter values by name (strings are parsed to the parameter's type).
        tags: User tags, added to the flow class's default tags (a ``key:value`` tag here
            replaces a class tag with the same key).
        max_workers: The worker pool's size; when ``None``, the ``flowtrail/max_workers``
            tag, else the number of cores.
        run_id: A run id of the user's choice.
        trigger: The events that started the run.
        heartbeat_timeout: Silence after which readers record the run ``lost``.
        resume: For a resume, the origin run id (``""`` for the latest run of the flow).
        resume_step: For a resume, the step to run again from.
        partition: The partition the run computes (system tag ``partition:<key>``); a resume
            keeps its origin's partition.
        backfill: The backfill the run belongs to (system tag ``backfill:<id>``).
        image: The container image it runs in (system tag ``image:<tag>``); entry points
            read it from ``FLOWTRAIL_IMAGE``.
        store_retry_seconds: How long the metadata store (a service being restarted, say)
            may stay unavailable while the run holds its records and retries; after that
            the run stops with a message saying so.
    """

    parameters: Mapping[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()
    max_workers: int | None = None
    run_id: str | None = None
    trigger: tuple[TriggerEvent, ...] = ()
    heartbeat_timeout: timedelta = timedelta(minutes=2)
    resume: str | None = None
    resume_step: str | None = None
    partition: str | None = None
    backfill: str | None = None
    image: str | None = None
    store_retry_seconds: float = 60.0


def flow_graph(flow_cls: type) -> FlowGraph:
    """The flow's checked graph (cached on the class)."""
    cached = flow_cls.__dict__.get("_flowtrail_graph")
    if isinstance(cached, FlowGraph):
        return cached
    graph = FlowGraph(flow_cls, flow_cls._steps())  # type: ignore[attr-defined]
    flow_cls._flowtrail_graph = graph  # type: ignore[attr-defined]
    return graph


def resolve_parameters(flow_cls: type, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's value: the given one (converted) or its default.

    Raises:
        InvalidFlow: an unknown parameter, a value of the wrong type, a required one missing.
    """
    declared: dict[str, Parameter] = flow_cls._parameters()  # type: ignore[attr-defined]
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(f"--{n}" for n in sorted(declared)) or "none"
        raise InvalidFlow(
            f"unknown parameter {', '.join('--' + u for u in unknown)}; the flow's parameters "
            f"are: {known}",
            details={"unknown": unknown},
        )
    values: dict[str, Any] = {}
    for name, param in declared.items():
        if name in given and given[name] is not None:
            values[name] = param.convert(given[name])
        elif param.has_default:
            values[name] = param.default
        elif param.required:
            raise InvalidFlow(f"missing required parameter --{name}", details={"parameter": name})
    return values


@dataclass(frozen=True, slots=True)
class CheckedRequest:
    """What :func:`check_request` found: the flow's graph and definition, the run's user
    tags (class defaults merged with the request's) and its execution tags."""

    graph: FlowGraph
    definition: FlowDefinition
    user_tags: frozenset[str]
    execution: ExecutionTags


def check_request(flow_cls: type, request: RunRequest) -> CheckedRequest:
    """Check what can be checked without the store: the graph, the flow's metadata and
    default tags, the request's tags and execution tags, and its system tag values.

    Raises:
        InvalidFlow: the flow or its metadata is wrong.
        InvalidTag: a tag is invalid or reserved, or an execution tag's value is wrong.
        InvalidArgument: a partition, backfill id or image cannot be a tag.
    """
    graph = flow_graph(flow_cls)
    definition = flow_definition(flow_cls)
    check_tag_collection(request.tags)
    tags = merge_tags(definition.tags, request.tags)
    user_tags = validate_user_tags(tags)
    execution = parse_execution_tags(tags)
    _check_system_values(request)
    return CheckedRequest(graph, definition, user_tags, execution)


def launch(
    flow_cls: type,
    settings: Settings,
    request: RunRequest,
    progress: Progress,
    *,
    executor: Executor | None = None,
) -> RunOutcome:
    """Check, record and run a flow; returns how the run ended.

    Raises:
        InvalidFlow: the flow, its metadata or a parameter is wrong (nothing recorded).
        InvalidTag: a tag is invalid or reserved, or an execution tag's value is wrong
            (nothing recorded).
        AlreadyExists: the run id is taken (nothing recorded).
    """
    checked = check_request(flow_cls, request)
    execution = checked.execution
    workers = request.max_workers if request.max_workers is not None else execution.max_workers
    executor = executor or LocalExecutor(workers)
    store = open_run_store(settings, retry_for=request.store_retry_seconds)
    try:
        blobs = open_run_blobs(settings, retry_for=request.store_retry_seconds)
        try:
            return _launch(
                flow_cls,
                checked.graph,
                flow_cls.__name__,
                checked.definition,
                checked.user_tags,
                execution,
                settings,
                store,
                blobs,
                request,
                progress,
                executor,
            )
        finally:
            blobs.close()
    finally:
        store.close()


def _launch(
    flow_cls: type,
    graph: FlowGraph,
    name: str,
    definition: FlowDefinition,
    user_tags: frozenset[str],
    execution: ExecutionTags,
    settings: Settings,
    store: MetadataStore,
    blobs: BlobStore,
    request: RunRequest,
    progress: Progress,
    executor: Executor,
) -> RunOutcome:
    origin: Origin | None = None
    partition = request.partition
    if request.resume is not None:
        origin_record = _origin_run(store, name, request.resume)
        origin = Origin(store, origin_record, graph, request.resume_step)
        given = {**origin_record.parameters, **request.parameters}
        if partition is None:
            partition = _partition_of(origin_record.system_tags)
    else:
        given = dict(request.parameters)
    parameters = resolve_parameters(flow_cls, given)
    if request.run_id is not None:
        try:
            store.get_run(Pathspec(name, request.run_id))
        except NotFound:
            pass
        else:
            raise AlreadyExists(
                f"run {name}/{request.run_id} exists already; choose another --run-id",
                details={"run": f"{name}/{request.run_id}"},
            )
    user = current_user()
    system_tags = base_system_tags(user, executor.name)
    if origin is not None:
        system_tags |= {f"origin-run:{origin.run_id}", f"resume-step:{origin.step}"}
    system_tags |= {f"trigger:{event.name}" for event in request.trigger}
    for prefix, value in (
        ("partition", partition),
        ("backfill", request.backfill),
        ("image", request.image),
    ):
        if value is not None:
            system_tags.add(f"{prefix}:{value}")
    new_run = NewRun(
        flow_name=name,
        run_id=request.run_id,
        user=user,
        parameters=parameters,
        tags=user_tags,
        system_tags=frozenset(system_tags),
        origin_run_id=origin.run_id if origin is not None else None,
        trigger=request.trigger,
        heartbeat_timeout=request.heartbeat_timeout,
        flow_metadata=definition.metadata,
    )
    flow_file = _flow_file(flow_cls)
    code = build_code_package(flow_file, blobs) if flow_file is not None else None
    parameter_view = {}
    for key, value in parameters.items():
        packed = serialize(value)
        ref = blobs.put(packed.data)
        parameter_view[key] = ArtifactRef(
            ref.sha, len(packed.data), packed.python_type, packed.encoding.value, packed.scalar
        )
    record = store.create_run(replace(new_run, code_package=code))
    run_id = record.pathspec.run_id or ""
    context = RunContext(
        flow_name=name,
        run_id=run_id,
        username=user,
        tags=tuple(sorted(record.user_tags | record.system_tags)),
        parameters=parameters,
        origin_run_id=new_run.origin_run_id,
        blob_url=settings.blob_url,
        blob_options=run_blob_options(settings, retry_for=request.store_retry_seconds),
    )
    heartbeat_every = max(min(request.heartbeat_timeout.total_seconds() / 4, 10.0), 0.05)
    scheduler = Scheduler(
        store,
        blobs,
        executor,
        graph,
        flow_cls,
        context,
        progress,
        origin=origin,
        parameter_view=parameter_view,
        heartbeat_every=heartbeat_every,
        store_retry_for=request.store_retry_seconds,
        execution=execution,
    )
    return scheduler.execute()


def _check_system_values(request: RunRequest) -> None:
    """Check the values that become system tags, naming the option that gave each."""
    for option, prefix, value in (
        ("--partition", "partition", request.partition),
        ("the backfill id", "backfill", request.backfill),
        ("FLOWTRAIL_IMAGE", "image", request.image),
    ):
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgument(f"{option} must be a non-empty string, got {value!r}")
        try:
            validate_new_tag(f"{prefix}:{value}")
        except InvalidArgument as exc:
            raise InvalidArgument(f"{option} {value!r} cannot be a tag: {exc.message}") from None


def _partition_of(system_tags: frozenset[str]) -> str | None:
    for tag in system_tags:
        if tag.startswith("partition:"):
            return tag[len("partition:") :]
    return None


def _origin_run(store: MetadataStore, flow: str, run_id: str) -> Any:
    if run_id:
        return store.get_run(Pathspec(flow, run_id))
    user = current_user()
    page = store.find_runs(RunFilter(flow, tags=frozenset({f"user:{user}"})), PageRequest(1))
    if not page.items:
        raise InvalidArgument(f"flow {flow!r} has no run of user {user!r} to resume")
    return page.items[0]


def _flow_file(flow_cls: type) -> Path | None:
    try:
        path = inspect.getsourcefile(flow_cls)
    except TypeError:
        return None
    if path is None or not Path(path).is_file():
        return None
    return Path(path)
