"""How a workflow is kept in the history: a run (flow = the entry function's name, run id =
the workflow id, system tag ``workflow:<id>``), one step with one task per workflow task,
options and upstream ids as system metadata, user metadata as user entries, each call
pickled by value in the blob store (so another process can resume it), outputs as
``output`` artifacts."""

from __future__ import annotations

import contextlib
import functools
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flowtrail.blobs import BlobStore, deserialize
from flowtrail.config import Settings, resolve_settings
from flowtrail.config.identity import current_user
from flowtrail.errors import InvalidArgument, InvalidPathspec
from flowtrail.model import (
    Batch,
    MetadataEntry,
    MetadataValue,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    PageRequest,
    Pathspec,
    RunFilter,
    RunRecord,
    Status,
    StepKind,
    TaskRecord,
    iter_pages,
    validate_id,
)
from flowtrail.runtime.calls import OUTPUT
from flowtrail.runtime.messages import ArtifactRef
from flowtrail.runtime.stores import open_run_blobs, open_run_store
from flowtrail.runtime.systags import base_system_tags, image_from_env
from flowtrail.store import MetadataStore
from flowtrail.workflow.options import TaskOptions
from flowtrail.workflow.plan import Plan, PlannedTask

__all__ = [
    "Session",
    "TaskState",
    "create_workflow",
    "find_workflow",
    "load_plan",
    "open_session",
    "task_states",
    "workflow_tag",
]

_PAGE = 1000
OUTPUT_TASK = "workflow.output_task"
EXECUTION = "workflow.execution"
CANCEL = "workflow.cancel"
TASK_OPTIONS = "workflow.task_options"
UPSTREAM = "workflow.upstream"
PAYLOAD = "workflow.payload"


@dataclass(slots=True)
class Session:
    """The settings, metadata store and blob store one call of the API works with."""

    settings: Settings
    store: MetadataStore
    blobs: BlobStore

    def load(self, sha: str, encoding: str) -> Any:
        """An object from the blob store."""
        return deserialize(self.blobs.get(sha), encoding)


@contextmanager
def open_session(settings: Settings | None = None) -> Iterator[Session]:
    """Resolve the settings (unless given), open both stores, and close them at the end."""
    settings = settings or resolve_settings()
    store = open_run_store(settings)
    try:
        blobs = open_run_blobs(settings)
        try:
            yield Session(settings, store, blobs)
        finally:
            blobs.close()
    finally:
        store.close()


def workflow_tag(workflow_id: str) -> str:
    """The system tag that finds a workflow's run by its id alone."""
    return f"workflow:{workflow_id}"


def check_workflow_id(workflow_id: Any) -> str:
    """Raise ``ValueError`` unless the id can be a run id."""
    if not isinstance(workflow_id, str):
        raise TypeError(f"workflow_id must be a str, got {type(workflow_id).__name__}")
    try:
        return validate_id("workflow_id", workflow_id)
    except InvalidPathspec as exc:
        raise ValueError(str(exc)) from None


def find_workflow(store: MetadataStore, workflow_id: str) -> RunRecord | None:
    """The run of the workflow, or ``None`` when there is none (its status is current: a
    silent run is recorded lost by this read)."""
    check_workflow_id(workflow_id)
    page = store.find_runs(RunFilter(tags=frozenset({workflow_tag(workflow_id)})), PageRequest(1))
    return page.items[0] if page.items else None


def new_workflow_id() -> str:
    """A fresh workflow id."""
    return uuid.uuid4().hex


def _user_entries(target: Pathspec, metadata: dict[str, Any]) -> list[NewMetadata]:
    entries = []
    for key, value in json.loads(json.dumps(metadata)).items():
        try:
            entries.append(NewMetadata(target, key, MetadataValue.of(value), "user"))
        except InvalidArgument as exc:
            raise ValueError(f"metadata key {key!r} cannot be recorded: {exc}") from None
    return entries


def create_workflow(
    session: Session,
    plan: Plan,
    workflow_id: str,
    flow_name: str,
    metadata: dict[str, Any],
    heartbeat_timeout: timedelta,
) -> RunRecord:
    """Record a new workflow, running, with all its tasks pending.

    Raises:
        AlreadyExists: the flow has a run with that id (another process won a race).
    """
    # Every record is built, and so checked, before the run exists: metadata that cannot be
    # recorded is refused with nothing written (no run left behind, running).
    run = Pathspec.of(flow_name, workflow_id)
    steps, tasks, entries = [], [], _user_entries(run, metadata)
    entries += [
        NewMetadata(run, OUTPUT_TASK, MetadataValue.text(plan.output), "system"),
        NewMetadata(run, EXECUTION, MetadataValue.int(1), "system"),
    ]
    for item in plan.tasks:
        kind = StepKind.END if item.task_id == plan.output else StepKind.LINEAR
        if not item.upstream and kind is StepKind.LINEAR:
            kind = StepKind.START
        downstream = tuple(plan.by_id()[t].step for t in plan.downstream(item.task_id))
        steps.append(NewStep(run.child(item.step), kind, downstream))
        task = run.child(item.step).child(item.task_id)
        tasks.append(NewTask(task, Status.PENDING, parent_tasks=()))
        entries += _user_entries(task, item.options.metadata)
        # Before the run exists too: a blob store that fails leaves nothing behind (an
        # unreferenced blob is collectable).
        sha = session.blobs.put(item.payload).sha
        entries += [
            # As JSON text, so the options read back in the order they were given.
            NewMetadata(task, TASK_OPTIONS, MetadataValue.text(_options_record(item)), "system"),
            NewMetadata(task, UPSTREAM, MetadataValue.json(list(item.upstream)), "system"),
            NewMetadata(task, PAYLOAD, MetadataValue.text(sha), "system"),
        ]
    user = current_user()
    system_tags = base_system_tags(user, "local", image_from_env())
    run_record = session.store.create_run(
        NewRun(
            flow_name=flow_name,
            run_id=workflow_id,
            user=user,
            system_tags=frozenset({*system_tags, workflow_tag(workflow_id)}),
            heartbeat_timeout=heartbeat_timeout,
        )
    )
    batch = Batch(
        uuid.uuid4().hex,
        run,
        steps=tuple(steps),
        tasks=tuple(tasks),
        metadata=tuple(entries),
        heartbeat=True,
    )
    try:
        session.store.write_batch(batch)
    except BaseException:
        # Not left running for the heartbeat timeout: recorded failed at once, so that
        # workflow.delete can remove it (its plan was not recorded; it cannot resume).
        with contextlib.suppress(Exception):
            session.store.set_run_status(run, Status.FAILED)
        raise
    return run_record


def _options_record(item: PlannedTask) -> str:
    return json.dumps(
        {
            "max_retries": item.options.max_retries,
            "retry_exceptions": item.options.retry_exceptions,
            "workflow_options": dict(item.options.workflow_options),
            "given": list(item.options.given),
        }
    )


def run_entries(store: MetadataStore, run: Pathspec) -> list[MetadataEntry]:
    """The run-level metadata entries of a workflow, oldest first."""
    return list(iter_pages(lambda page: store.find_metadata(run, page), _PAGE, _PAGE))


def latest(entries: list[MetadataEntry], name: str, kind: str = "system") -> Any:
    """The latest value of a field among ``entries`` (``None`` if it has none)."""
    found = [e for e in entries if e.field_name == name and e.type == kind]
    return found[-1].value.value if found else None


def user_metadata(entries: list[MetadataEntry]) -> dict[str, Any]:
    """The user metadata among ``entries`` (latest value of each key)."""
    return {e.field_name: e.value.value for e in entries if e.type == "user"}


@dataclass(frozen=True, slots=True)
class TaskState:
    """What the history says about one task of a workflow."""

    record: TaskRecord
    entries: list[MetadataEntry]
    output: ArtifactRef | None
    attempts: int

    @property
    def task_id(self) -> str:
        """The task id."""
        return self.record.task_id

    @property
    def options(self) -> TaskOptions:
        """The task's options."""
        raw = json.loads(latest(self.entries, TASK_OPTIONS) or "{}")
        return TaskOptions(
            raw.get("max_retries", 3),
            raw.get("retry_exceptions", False),
            raw.get("workflow_options", {}),
            tuple(raw.get("given", ())),
        )

    @property
    def upstream(self) -> tuple[str, ...]:
        """The ids of the tasks whose outputs are in its arguments."""
        return tuple(latest(self.entries, UPSTREAM) or ())


def task_states(store: MetadataStore, run: Pathspec) -> dict[str, TaskState]:
    """Every task of a workflow by id, upstream first, with its metadata and output."""
    states: dict[str, TaskState] = {}
    for record in iter_pages(lambda page: store.find_tasks(run, page), _PAGE, _PAGE):
        spec = record.pathspec
        entries = list(iter_pages(functools.partial(store.find_metadata, spec), _PAGE, _PAGE))
        artifacts = [a for a in store.find_artifacts(spec, PageRequest(10)) if a.name == OUTPUT]
        output = None
        if artifacts and record.status is Status.SUCCEEDED:
            a = artifacts[0]
            output = ArtifactRef(a.sha, a.size, a.python_type, a.encoding, a.value)
        attempts = len(store.find_attempts(spec, PageRequest(1000)).items)
        states[record.task_id] = TaskState(record, entries, output, attempts)
    return states


def load_plan(session: Session, run: RunRecord, states: dict[str, TaskState]) -> Plan:
    """The workflow's plan as recorded (its calls read back from the blob store).

    Raises:
        InvalidArgument: the workflow's records are incomplete (its process died while
            recording it): delete it and run it again.
    """
    output = latest(run_entries(session.store, run.pathspec), OUTPUT_TASK)
    tasks = []
    for state in states.values():
        sha = latest(state.entries, PAYLOAD)
        if sha is None:
            break
        tasks.append(
            PlannedTask(
                state.task_id,
                state.record.step_name,
                state.upstream,
                state.options,
                session.blobs.get(sha),
            )
        )
    if output is None or output not in {t.task_id for t in tasks} or len(tasks) < len(states):
        raise InvalidArgument(
            f"workflow {run.run_id!r} was not recorded completely (its process died while "
            f"recording it); delete it with workflow.delete({run.run_id!r}) and run it again"
        )
    return Plan(tuple(tasks), str(output))
