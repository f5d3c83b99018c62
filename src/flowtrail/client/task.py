"""``Task``: one execution of a step; its attempts, metadata, artifacts and logs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowtrail.client.artifact import DataArtifact
from flowtrail.client.base import UNSET, Container, Context, RunScoped, check_attempt, paged
from flowtrail.client.code import Code
from flowtrail.client.data import Artifacts, Data
from flowtrail.client.entries import Metadata
from flowtrail.config import Settings
from flowtrail.errors import InvalidArgument, NotFound
from flowtrail.model import (
    FINAL,
    TERMINAL,
    ArtifactRecord,
    AttemptRecord,
    ExceptionInfo,
    ForeachFrame,
    Level,
    LogStream,
    MetadataEntry,
    Pathspec,
    Status,
    TaskRecord,
)

if TYPE_CHECKING:
    from flowtrail.client.provider import Provider
    from flowtrail.client.step import Step

__all__ = ["Task"]

# An attempt that ended never changes again (lost may still turn into the real outcome); a
# task may: a failed or cancelled workflow task runs again, in place, when it is resumed.
_SETTLED = TERMINAL - {Status.LOST}
_TASK_SETTLED = FINAL
_LOG_PAGE = 1000
# The task metadata that describes where it ran, in the order environment_info lists it.
_ENVIRONMENT = ("runtime", "python_version", "host", "pid")


class Task(RunScoped, Container[DataArtifact]):
    """A task: one execution of a step. A container of its :class:`DataArtifact` objects.

    A task may have several attempts (retries), numbered from 0. ``Task(pathspec)`` shows
    the latest attempt; ``Task(pathspec, attempt=0)`` shows the first: its status,
    exception, logs, metadata and artifacts.

    Args:
        pathspec: ``'TrainFlow/12/train/345'``.
        attempt: The attempt to show; ``None`` for the latest.

    Raises:
        NotFound: no such task, or no such attempt of it.
        NamespaceMismatch: its run is outside the current namespace.

    Example:
        ``Task('TrainFlow/12/train/345').data.model``, ``Task(..., attempt=0).stderr``.
    """

    _level = Level.TASK

    def __init__(
        self,
        pathspec: str | Pathspec,
        attempt: int | None = None,
        *,
        provider: Provider | Settings | None = None,
        _namespace_check: bool = True,
        _current_namespace: str | None = UNSET,
    ) -> None:
        check_attempt(attempt)
        self._asked = attempt
        self._attempt: AttemptRecord | None = None
        self._artifact_cache: tuple[ArtifactRecord, ...] | None = None
        self._code: tuple[Code | None] | None = None
        super().__init__(
            pathspec,
            provider=provider,
            _namespace_check=_namespace_check,
            _current_namespace=_current_namespace,
        )

    def _load(self, namespace_check: bool) -> None:
        self._record = self._store.get_task(self._spec)
        if namespace_check:
            self._ctx.check_run_of(self, self._run_spec)
        if self._asked is not None:
            self._attempt_record()  # an attempt that does not exist is NotFound now

    def _init_kwargs(self) -> dict[str, Any]:
        return {"attempt": self._asked}

    @classmethod
    def _from_record(cls, ctx: Context, record: TaskRecord) -> Task:
        task = cls.__new__(cls)
        task._init(ctx, record.pathspec)
        task._record = record
        task._asked = None
        task._attempt = None
        task._artifact_cache = None
        task._code = None
        return task

    # -- records, read again while they can still change -----------------------------

    def _fresh(self) -> TaskRecord:
        if self._record.status not in _TASK_SETTLED:
            self._record = self._store.get_task(self._spec)
        return self._record

    def _attempt_record(self) -> AttemptRecord | None:
        known = self._attempt
        # The latest attempt of a task that has not settled may be followed by a retry.
        if (
            known is not None
            and known.status in _SETTLED
            and (self._asked is not None or self._fresh().status in _TASK_SETTLED)
        ):
            return known
        try:
            self._attempt = self._store.get_attempt(self._spec, self._asked)
        except NotFound:
            if self._asked is not None:
                raise NotFound(
                    f"task {self.pathspec} has no attempt {self._asked}",
                    details={"pathspec": self.pathspec, "attempt": self._asked},
                ) from None
            self._attempt = None  # not started yet, or cloned by a resume
        return self._attempt

    def _settled(self) -> bool:
        if self._asked is not None:
            attempt = self._attempt_record()
            return attempt is not None and attempt.status in _SETTLED
        return self._fresh().status in _TASK_SETTLED

    # -- what the task is ------------------------------------------------------------

    @property
    def created_at(self) -> datetime:
        """When the task was recorded."""
        return self._record.created_at

    @property
    def parent(self) -> Step:
        """The step of this task."""
        from flowtrail.client.step import Step

        return self._open(Step, self._spec.truncate(Level.STEP))

    @property
    def index(self) -> int | None:
        """Its index in the innermost foreach, or ``None`` outside any foreach."""
        return self._record.foreach_index

    @property
    def foreach_stack(self) -> tuple[ForeachFrame, ...]:
        """Its place in each enclosing foreach, outermost first."""
        return self._record.foreach_stack

    @property
    def origin_pathspec(self) -> str | None:
        """For a task cloned by a resume, the pathspec of the task it was cloned from."""
        origin = self._record.origin_pathspec
        return None if origin is None else str(origin)

    @property
    def current_attempt(self) -> int | None:
        """The attempt shown: the one asked for, else the latest (``None`` if the task has
        no attempt, e.g. before it started)."""
        if self._asked is not None:
            return self._asked
        # The task's record names its latest attempt (read again while it can change).
        return self._fresh().latest_attempt

    @property
    def status(self) -> Status:
        """The recorded status of the task (of the attempt, when one was asked for)."""
        if self._asked is not None:
            attempt = self._attempt_record()
            assert attempt is not None
            return attempt.status
        return self._fresh().status

    @property
    def successful(self) -> bool:
        """True if the task (the attempt asked for) succeeded."""
        return self.status is Status.SUCCEEDED

    @property
    def finished(self) -> bool:
        """True if the task (the attempt asked for) has ended."""
        return self.status.finished

    @property
    def started_at(self) -> datetime | None:
        """When the attempt shown (the one asked for, else the latest) started; ``None``
        before the task started, and for a task cloned by a resume (it ran no attempt)."""
        attempt = self._attempt_record()
        return None if attempt is None else attempt.started_at

    @property
    def finished_at(self) -> datetime | None:
        """When the task (the attempt asked for) ended, or ``None`` while it runs."""
        if self._asked is not None:
            attempt = self._attempt_record()
            return None if attempt is None else attempt.finished_at
        return self._fresh().finished_at

    @property
    def exception(self) -> ExceptionInfo | None:
        """What the attempt raised (``type``, ``message``, ``traceback``), if it failed."""
        attempt = self._attempt_record()
        return None if attempt is None else attempt.exception

    # -- metadata --------------------------------------------------------------------

    @property
    def metadata(self) -> list[Metadata]:
        """The metadata entries of the attempt shown (and those of the whole task), oldest
        first."""
        return [Metadata.from_entry(entry) for entry in self._metadata_entries()]

    @property
    def metadata_dict(self) -> dict[str, Any]:
        """The latest value of each metadata name: ``{'attempt': 0, 'runtime': 'local'}``."""
        return {entry.field_name: entry.value.value for entry in self._metadata_entries()}

    def _metadata_entries(self) -> Iterator[MetadataEntry]:
        """The store's entries of the attempt shown and of the whole task, oldest first."""
        number = self.current_attempt
        for entry in paged(lambda page: self._store.find_metadata(self._spec, page), 100):
            if number is None or entry.attempt is None or entry.attempt == number:
                yield entry

    @property
    def runtime_name(self) -> str | None:
        """The runtime the task ran on (``'local'``)."""
        value = self.metadata_dict.get("runtime")
        return None if value is None else str(value)

    @property
    def environment_info(self) -> dict[str, Any]:
        """Where the task ran: ``runtime``, ``python_version``, ``host``, ``pid`` and
        ``flowtrail_version``, those that were recorded."""
        recorded = self.metadata_dict
        info = {name: recorded[name] for name in _ENVIRONMENT if name in recorded}
        for tag in self.system_tags:
            name, _, value = tag.partition(":")
            if name == "flowtrail_version":
                info[name] = value
        return info

    # -- artifacts -------------------------------------------------------------------

    def _artifact_records(self) -> tuple[ArtifactRecord, ...]:
        if self._artifact_cache is not None:
            return self._artifact_cache
        settled = self._settled()  # asked before reading: a late artifact is read next time
        # The attempt shown: a retry that runs has none yet, not the failed attempt's (the
        # record _settled just read again, while it could change, names the latest).
        number = self._asked if self._asked is not None else self._record.latest_attempt
        records = tuple(
            paged(
                lambda page: self._store.find_artifacts(self._spec, page, attempt=number),
                100,
            )
        )
        if settled:
            self._artifact_cache = records  # a finished attempt's artifacts never change
        return records

    def _artifact_map(self) -> Mapping[str, DataArtifact]:
        return {
            record.name: DataArtifact._from_record(self._ctx, record, self._asked)
            for record in self._artifact_records()
        }

    @property
    def artifacts(self) -> Artifacts:
        """Its artifacts as :class:`DataArtifact` objects: ``task.artifacts.model.sha``."""
        return Artifacts(self._artifact_map())

    @property
    def data(self) -> Data:
        """Its artifacts' values: ``task.data.model``, ``'model' in task.data``,
        ``dir(task.data)``. Each value is read from the blob store when first used."""
        return Data(self._artifact_map())

    def _children(self) -> Iterator[DataArtifact]:
        return iter(self._artifact_map().values())

    def _child(self, name: str) -> DataArtifact:
        record = self._store.get_artifact(self._spec.child(name), self._asked)
        return DataArtifact._from_record(self._ctx, record, self._asked)

    # -- logs ------------------------------------------------------------------------

    def loglines(
        self,
        stream: str,
        as_unicode: bool = True,
        meta_dict: Mapping[str, Any] | None = None,
        *,
        offset: int = 0,
    ) -> Iterator[tuple[datetime, str | bytes]]:
        """The lines of one stream of the attempt shown, with the time each was written.

        Args:
            stream: ``'stdout'`` or ``'stderr'``.
            as_unicode: ``False`` to get each line as UTF-8 bytes.
            meta_dict: As in Metaflow's client: when the task was not asked for an attempt,
                ``meta_dict['attempt']`` (if present) says which attempt's lines to read
                (a ``metadata_dict`` read earlier, so the lines match it).
            offset: Start at this line (counted from 0): to follow a running task, pass the
                number of lines read so far.

        Yields:
            ``(utc datetime, line)`` pairs, in the order the lines were written.

        Raises:
            InvalidArgument: ``offset`` is negative, or ``meta_dict['attempt']`` is not an
                attempt number.
        """
        kind = LogStream(stream)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise InvalidArgument(f"offset must be an int >= 0, got {offset!r}")
        number = self.current_attempt
        if self._asked is None and meta_dict is not None and "attempt" in meta_dict:
            number = _attempt_number(meta_dict["attempt"])
        if number is None:
            return
        while True:
            lines = self._store.read_log_lines(
                self._spec, attempt=number, stream=kind, offset=offset, limit=_LOG_PAGE
            )
            for line in lines:
                yield line.created_at, (line.text if as_unicode else line.text.encode("utf-8"))
            if len(lines) < _LOG_PAGE:
                return
            offset = lines[-1].seq + 1

    @property
    def attempts(self) -> list[Task]:
        """Every attempt of the task, oldest first, each shown as ``Task(pathspec,
        attempt=n)`` would show it (its status, exception, logs, metadata, artifacts); empty
        before the task started. One query."""
        records = paged(lambda page: self._store.find_attempts(self._spec, page), 100)
        shown = []
        for record in records:
            task = Task._from_record(self._ctx, self._record)
            task._asked = record.number
            task._attempt = record
            shown.append(task)
        return shown

    @property
    def stdout(self) -> str:
        """The standard output of the attempt shown, lines joined with ``'\\n'``."""
        return "\n".join(str(text) for _, text in self.loglines("stdout"))

    @property
    def stderr(self) -> str:
        """The standard error of the attempt shown, lines joined with ``'\\n'``."""
        return "\n".join(str(text) for _, text in self.loglines("stderr"))

    # -- related objects -------------------------------------------------------------

    @property
    def code(self) -> Code | None:
        """The code package of the run (the same for every task of a run), if stored."""
        if self._code is None:
            package = self._store.get_run(self._run_spec).code_package
            self._code = (None if package is None else Code(package, self._ctx.provider),)
        return self._code[0]

    @property
    def parent_tasks(self) -> list[Task]:
        """The tasks whose output this task took (for a join, one per branch)."""
        return [
            Task._from_record(self._ctx, self._store.get_task(parent))
            for parent in self._record.parent_tasks
        ]

    @property
    def child_tasks(self) -> list[Task]:
        """The tasks that took this task's output."""
        return [
            Task._from_record(self._ctx, record)
            for record in paged(lambda page: self._store.find_child_tasks(self._spec, page))
        ]

    def _identity(self) -> tuple[object, ...]:
        return (*super()._identity(), self._asked)

    def __repr__(self) -> str:
        attempt = "" if self._asked is None else f", attempt={self._asked}"
        return f"Task({self.pathspec!r}{attempt})"


def _attempt_number(value: Any) -> int:
    """An attempt number given as an int or its text (metadata values may be either)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0 or isinstance(value, bool):
        raise InvalidArgument(f"meta_dict['attempt'] must be an attempt number, got {value!r}")
    return number
