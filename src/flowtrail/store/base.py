"""The metadata store contract: every backend (SQLite, PostgreSQL, the HTTP service)
implements :class:`MetadataStore` in full, and one contract test suite runs against each.

General rules, which every method follows:

* Methods take and return typed records from :mod:`flowtrail.model`; pathspecs must name an
  object of the level the method expects, else :class:`~flowtrail.errors.InvalidPathspec`.
* ``create_*`` raises :class:`~flowtrail.errors.AlreadyExists` when the object exists;
  ``get_*`` raises :class:`~flowtrail.errors.NotFound` (a ``KeyError``) when it does not,
  and so does any write that names a missing parent (a task of an unknown step).
* ``find_*`` returns a :class:`~flowtrail.model.Page`: at most ``page.limit`` items, newest
  first unless the method says otherwise, with keyset pagination: a cursor stays valid while
  new objects are added (they appear on earlier pages, never twice). A cursor no listing of
  the store returned (malformed, forged, or another listing's) raises
  :class:`~flowtrail.errors.InvalidArgument` with ``details["argument"]`` set to
  :data:`CURSOR_ARGUMENT`.
* Every write is atomic: it is applied whole or not at all. A write that fails leaves
  nothing half-written.
* Status changes are checked against :data:`flowtrail.model.TRANSITIONS`
  (:class:`~flowtrail.errors.InvalidTransition`); setting the status an object already has
  is a no-op, so a writer may repeat it after a timeout. A final status sets ``finished_at``.
* A run whose status is ``running`` and whose heartbeat is older than its
  ``heartbeat_timeout`` is recorded ``lost`` by whichever read sees it first
  (``get_run``, ``find_runs``): readers never see a silent run as running, and the
  transition is written, not guessed again at every read.
* No driver exception leaves a store: an unreachable backend raises
  :class:`~flowtrail.errors.StoreUnavailable`.
* Times given as ``None`` mean "now", taken by the store.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType

from flowtrail.model import (
    ArtifactRecord,
    AttemptEnd,
    AttemptRecord,
    Batch,
    BatchResult,
    FlowRecord,
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
)

__all__ = ["CURSOR_ARGUMENT", "MetadataStore"]

#: ``details["argument"]`` of the :class:`~flowtrail.errors.InvalidArgument` a refused page
#: cursor raises: the service names the field ``query.cursor`` from it.
CURSOR_ARGUMENT = "cursor"


class MetadataStore(abc.ABC):
    """Where the execution history is recorded and read back. See the module docstring for
    the rules every method follows."""

    # -- lifecycle ---------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """Where this store keeps the history, with any password masked."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections. Idempotent; the store cannot be used afterwards."""

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- flows -------------------------------------------------------------------------

    @abc.abstractmethod
    def create_flow(
        self, name: str, metadata: Mapping[str, MetadataValue] | None = None
    ) -> FlowRecord:
        """Record a flow before any run of it. ``create_run`` also creates its flow when
        it is missing, so writers rarely need this.

        Raises:
            AlreadyExists: a flow of that name exists.
        """

    @abc.abstractmethod
    def get_flow(self, name: str) -> FlowRecord:
        """Return the flow called ``name``.

        Raises:
            NotFound: no such flow.
        """

    @abc.abstractmethod
    def find_flows(self, page: PageRequest | None = None) -> Page[FlowRecord]:
        """List flows, ordered by name (ascending)."""

    # -- runs --------------------------------------------------------------------------

    @abc.abstractmethod
    def create_run(self, run: NewRun) -> RunRecord:
        """Create a run, and its flow if that is new.

        Without ``run.run_id`` the run gets the next integer of its flow (1, 2, ...): the
        number is allocated inside the writing transaction, so concurrent writers in many
        processes get distinct, gap-free numbers. A user-chosen id that is itself an integer
        moves the flow's counter past it, so a later automatic id never collides with it.
        The run's flow metadata, when given, becomes the flow's latest metadata.

        Raises:
            AlreadyExists: the flow already has a run with that id.
        """

    @abc.abstractmethod
    def get_run(self, run: Pathspec) -> RunRecord:
        """Return the run ``Flow/run_id`` (recording it ``lost`` first if it fell silent).

        Raises:
            NotFound: no such run.
        """

    @abc.abstractmethod
    def run_exists(self, run: Pathspec, *, namespace: str | None = None) -> bool:
        """Whether the run ``Flow/run_id`` exists and, with ``namespace``, carries that tag
        (the client's ``'12' in Flow('F')``): a lookup by key that builds no record. It
        records no silent run lost, since existence does not depend on a run's status.

        Raises:
            InvalidPathspec: ``run`` is not a run's pathspec.
            InvalidTag: ``namespace`` is not a valid tag.
        """

    @abc.abstractmethod
    def find_runs(
        self, filter: RunFilter | None = None, page: PageRequest | None = None
    ) -> Page[RunRecord]:
        """List the runs matching ``filter``: newest first (in the order they were created),
        or in the order of ``filter.order_by``.

        The latest run of a flow is ``find_runs(RunFilter('F'), PageRequest(1))``; the latest
        successful one adds ``statuses={Status.SUCCEEDED}``. ``filter.where`` is evaluated by
        the backend (never by reading every run into Python), with the meaning
        ``docs/reference/search.md`` gives; its syntax was checked when the filter was built.

        With ``order_by``, runs lacking a key's value (an unfinished run's ``finished_at``, a
        parameter it does not have) come after those having one, in either direction; ties
        follow in creation order, in the direction of the last key. Pages are keyset pages
        in every order: a cursor carries the sort values of the last run read, and is refused
        by a search in another order.

        Raises:
            InvalidArgument: the cursor is not one of this order's.
        """

    @abc.abstractmethod
    def find_tags(
        self,
        flow_name: str | None = None,
        prefix: str | None = None,
        page: PageRequest | None = None,
        *,
        namespace: str | None = None,
    ) -> Page[TagCount]:
        """List the tags runs carry (user and system tags), ordered by tag (by code point),
        each with the number of runs carrying it: of one flow, or of all flows.

        ``prefix`` keeps the tags that start with it (``'team:'``). ``namespace`` counts only
        the runs that carry that tag (the client's namespace, ``user:alice``): a tag none of
        them carries is not listed. An unknown flow has no tags (an empty page, not
        ``NotFound``).

        Raises:
            InvalidArgument: the flow name or the prefix is not a string of the right form.
        """

    @abc.abstractmethod
    def set_run_status(
        self, run: Pathspec, status: Status, at: datetime | None = None
    ) -> RunRecord:
        """Record a run's new status; a final one sets ``finished_at`` to ``at``.

        Raises:
            NotFound: no such run.
            InvalidTransition: the table forbids it (a succeeded run cannot run again).
        """

    @abc.abstractmethod
    def heartbeat(self, run: Pathspec, at: datetime | None = None) -> RunRecord:
        """Record that the run's writer is alive.

        Raises:
            NotFound: no such run.
            InvalidTransition: the run is not running (a reader may have recorded it lost:
                the writer learns it here, and may record the run's real status).
        """

    @abc.abstractmethod
    def delete_run(self, run: Pathspec) -> None:
        """Delete a run and everything recorded under it (steps, tasks, attempts, metadata,
        artifact rows, log lines, tags, applied batch ids), in one transaction. Blobs are
        not touched (they are content-addressed and may be shared): those no run refers to
        any more become collectable. The flow stays, also when it has no run left. A silent
        run is recorded ``lost`` first (as ``get_run`` does), and may then be deleted.

        Raises:
            NotFound: no such run.
            InvalidTransition: the run is running or pending (a writer may still write to
                it): record it cancelled, or let it end, first.
        """

    @abc.abstractmethod
    def add_tags(self, run: Pathspec, tags: Iterable[str]) -> RunRecord:
        """Add user tags to a run, atomically.

        A tag the run carries already (as a user or a system tag) is skipped silently.
        Never changes the run's ``created_at`` or its place in the order.

        Raises:
            InvalidTag: a tag breaks a rule, uses a system prefix, or the run would carry
                more than 200 user tags. Nothing is added then.
        """

    @abc.abstractmethod
    def remove_tags(self, run: Pathspec, tags: Iterable[str]) -> RunRecord:
        """Remove user tags from a run, atomically. Removing a tag it does not carry is a
        no-op.

        Raises:
            InvalidTag: a tag is one of the run's system tags (those cannot be removed).
                Nothing is removed then.
        """

    @abc.abstractmethod
    def replace_tags(self, run: Pathspec, remove: Iterable[str], add: Iterable[str]) -> RunRecord:
        """Remove then add user tags in one transaction, with the rules of ``remove_tags``
        and ``add_tags``; other readers see either the old tags or the new ones."""

    # -- steps and tasks ---------------------------------------------------------------

    @abc.abstractmethod
    def create_step(self, step: NewStep) -> StepRecord:
        """Record a step of a run.

        Raises:
            NotFound: the run does not exist.
            AlreadyExists: the run has that step already.
        """

    @abc.abstractmethod
    def get_step(self, step: Pathspec) -> StepRecord:
        """Return the step ``Flow/run_id/step``, with ``finished_at`` as its tasks have it
        now (here and in ``find_steps``).

        Raises:
            NotFound: no such step.
        """

    @abc.abstractmethod
    def find_steps(self, run: Pathspec, page: PageRequest | None = None) -> Page[StepRecord]:
        """List the steps of a run, newest first.

        Raises:
            NotFound: no such run.
        """

    @abc.abstractmethod
    def create_task(self, task: NewTask) -> TaskRecord:
        """Record a task of a step.

        Raises:
            NotFound: its step does not exist.
            AlreadyExists: the run has a task with that id already (task ids are unique
                within a run).
        """

    @abc.abstractmethod
    def get_task(self, task: Pathspec) -> TaskRecord:
        """Return the task ``Flow/run_id/step/task_id``.

        Raises:
            NotFound: no such task in that step.
        """

    @abc.abstractmethod
    def find_tasks(self, scope: Pathspec, page: PageRequest | None = None) -> Page[TaskRecord]:
        """List the tasks of a step (``Flow/run_id/step``) or of a whole run
        (``Flow/run_id``), oldest first: the first item is the step's first task.

        Raises:
            NotFound: the step or run does not exist.
        """

    @abc.abstractmethod
    def find_child_tasks(self, task: Pathspec, page: PageRequest | None = None) -> Page[TaskRecord]:
        """List the tasks that name ``task`` among their parents, oldest first.

        Raises:
            NotFound: no such task.
        """

    @abc.abstractmethod
    def set_task_status(
        self, task: Pathspec, status: Status, at: datetime | None = None
    ) -> TaskRecord:
        """Record a task's new status, with the rules of ``set_run_status``."""

    # -- attempts ------------------------------------------------------------------------

    @abc.abstractmethod
    def start_attempt(self, attempt: NewAttempt) -> AttemptRecord:
        """Record an attempt starting, ``running``.

        Raises:
            NotFound: its task does not exist.
            AlreadyExists: the task has an attempt with that number already.
        """

    @abc.abstractmethod
    def finish_attempt(self, end: AttemptEnd) -> AttemptRecord:
        """Record an attempt's final status and exception; repeating it is a no-op.

        Raises:
            NotFound: no such attempt.
            InvalidTransition: it had already ended with another status.
        """

    @abc.abstractmethod
    def get_attempt(self, task: Pathspec, number: int | None = None) -> AttemptRecord:
        """Return attempt ``number`` of a task, or its latest attempt when ``None``.

        Raises:
            NotFound: no such task, or it has no such attempt (or none at all).
        """

    @abc.abstractmethod
    def find_attempts(self, task: Pathspec, page: PageRequest | None = None) -> Page[AttemptRecord]:
        """List the attempts of a task, in attempt order (0 first).

        Raises:
            NotFound: no such task.
        """

    # -- metadata, artifacts, logs -------------------------------------------------------

    @abc.abstractmethod
    def record_metadata(self, entries: Sequence[NewMetadata]) -> None:
        """Append metadata entries to runs and tasks (all of one run), in one transaction.
        Append-only: entries are never changed; a later entry of the same name is the new
        latest value. For retries without duplicates, send entries in a :class:`Batch`.

        Raises:
            NotFound: a run or task named does not exist.
            InvalidArgument: the entries belong to more than one run.
        """

    @abc.abstractmethod
    def find_metadata(
        self,
        target: Pathspec,
        page: PageRequest | None = None,
        *,
        attempt: int | None = None,
        field_name: str | None = None,
    ) -> Page[MetadataEntry]:
        """List the metadata of a run (its run-level entries) or of a task, oldest first;
        optionally only one attempt's entries, or one field's.

        Raises:
            NotFound: no such run or task.
        """

    @abc.abstractmethod
    def record_artifacts(self, artifacts: Sequence[NewArtifact]) -> None:
        """Index artifacts whose bytes are in the blob store already (all of one run).
        Idempotent: a row identical to a recorded one (task, attempt, name, sha) is skipped.

        Raises:
            NotFound: a task named does not exist.
            AlreadyExists: the attempt recorded that name already, with another sha.
        """

    @abc.abstractmethod
    def get_artifact(self, artifact: Pathspec, attempt: int | None = None) -> ArtifactRecord:
        """Return the artifact ``Flow/run_id/step/task_id/name`` of an attempt, or of the
        latest attempt that recorded it when ``attempt`` is ``None``.

        Raises:
            NotFound: no such task or artifact.
        """

    @abc.abstractmethod
    def find_artifacts(
        self, task: Pathspec, page: PageRequest | None = None, *, attempt: int | None = None
    ) -> Page[ArtifactRecord]:
        """List a task's artifacts by name (ascending), for one attempt or, when ``attempt``
        is ``None``, for the latest attempt that recorded any.

        Raises:
            NotFound: no such task.
        """

    @abc.abstractmethod
    def append_log_lines(self, lines: Sequence[NewLogLine]) -> None:
        """Append log lines (all of one run). Idempotent per line: a line whose task,
        attempt, stream and ``seq`` are recorded already is skipped.

        Raises:
            NotFound: a task named does not exist.
        """

    @abc.abstractmethod
    def read_log_lines(
        self,
        task: Pathspec,
        *,
        attempt: int,
        stream: LogStream,
        offset: int = 0,
        limit: int = 1000,
    ) -> list[LogLine]:
        """Read up to ``limit`` (1 to 1000) lines of one stream of one attempt, in ``seq``
        order, starting at ``seq >= offset``. To follow a running task, call again with
        ``offset`` set to one past the last ``seq`` read.

        Raises:
            NotFound: no such task.
        """

    # -- batches -------------------------------------------------------------------------

    @abc.abstractmethod
    def write_batch(self, batch: Batch) -> BatchResult:
        """Write everything a :class:`Batch` carries in one transaction, in the order its
        docstring gives. All or nothing: an error leaves none of it written.

        Idempotent: when a batch with the same ``batch_id`` has been applied already, nothing
        is written and the result has ``applied=False``.

        Raises:
            NotFound: the run, or a parent named by an item, does not exist.
            AlreadyExists, InvalidTransition: as the single-object methods would.
        """
