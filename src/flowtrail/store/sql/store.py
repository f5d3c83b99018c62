"""``SqlStore``: the metadata store over SQLAlchemy Core, for SQLite and PostgreSQL.

The class is thin: each method opens a short transaction (a write is ``BEGIN IMMEDIATE``
on SQLite) and calls the entity modules (:mod:`.runs`, :mod:`.tasks`, :mod:`.records`,
:mod:`.batch`). Driver exceptions are translated to flowtrail errors here, and only here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from flowtrail.config import mask_password
from flowtrail.errors import (
    AlreadyExists,
    FlowtrailError,
    InvalidArgument,
    InvalidTag,
    StoreUnavailable,
)
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
    TaskStatusChange,
    utc_now,
    validate_name,
    validate_tag,
)
from flowtrail.model.limits import check_attempt
from flowtrail.model.where import FieldKind, where_fields
from flowtrail.store.base import MetadataStore
from flowtrail.store.sql import batch as batches
from flowtrail.store.sql import records, runs, search, tasks
from flowtrail.store.sql.connect import first_line
from flowtrail.store.sql.dialects import WRITE_OPTION, is_sqlite, reads_on_driver
from flowtrail.store.sql.lookup import Keys, read_run_row, run_exists, run_row
from flowtrail.store.sql.reads import ConnectionReads, DriverReads, Reads

__all__ = ["SqlStore"]


class SqlStore(MetadataStore):
    """The metadata store on a SQL database. See :class:`MetadataStore` for the contract.

    Args:
        engine: An engine made by :func:`flowtrail.store.sql.dialects.create_engine` (or
            :func:`flowtrail.store.open_store`, which also migrates the schema). The store
            owns it from then on and disposes of it on :meth:`close`.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._url = mask_password(engine.url.render_as_string(hide_password=False))
        self._closed = False
        # An in-memory SQLite database is one connection that every thread shares: its
        # transactions must take turns, or they interleave on it.
        in_memory = is_sqlite(engine) and engine.url.database in (None, "", ":memory:")
        self._turns: AbstractContextManager[Any] = threading.RLock() if in_memory else nullcontext()
        self._driver = DriverReads(engine) if reads_on_driver(engine) else None

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for migrations, plans and benchmarks)."""
        return self._engine

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._driver is not None:
                self._driver.close()
            self._engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStore({self._url!r})"

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def _translate(self) -> Iterator[None]:
        if self._closed:
            raise StoreUnavailable(f"the store at {self._url} is closed")
        try:
            yield
        except FlowtrailError:
            raise
        except sa.exc.IntegrityError as exc:
            if _is_unique_violation(exc):
                # Only reachable when a concurrent writer won a race the checks missed.
                raise AlreadyExists(
                    f"a concurrent write recorded the same object first: {first_line(exc)}"
                ) from exc
            raise InvalidArgument(f"the database refused the write: {first_line(exc)}") from exc
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise StoreUnavailable(
                f"the metadata store at {self._url} is unavailable: {first_line(exc)}",
                details={"url": self._url},
            ) from exc
        except sa.exc.SQLAlchemyError as exc:
            raise FlowtrailError(f"database error at {self._url}: {first_line(exc)}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._turns, self._translate(), self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _reads(self) -> Iterator[Reads]:
        """Where a read of one statement (or of several that need not agree) runs: the
        driver's own connection where there is one (see :mod:`.reads`), else a read
        transaction."""
        if self._driver is None:
            with self._read() as conn:
                yield ConnectionReads(conn)
        else:
            with self._translate():
                yield self._driver

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with (
            self._turns,
            self._translate(),
            self._engine.connect().execution_options(**{WRITE_OPTION: True}) as conn,
            conn.begin(),
        ):
            yield conn

    # -- flows ---------------------------------------------------------------------------

    def create_flow(
        self, name: str, metadata: Mapping[str, MetadataValue] | None = None
    ) -> FlowRecord:
        with self._write() as conn:
            return runs.create_flow(conn, name, metadata, utc_now())

    def get_flow(self, name: str) -> FlowRecord:
        Pathspec(name)
        with self._reads() as reads:
            return runs.flow_record(reads, name)

    def find_flows(self, page: PageRequest | None = None) -> Page[FlowRecord]:
        with self._reads() as reads:
            return runs.find_flows(reads, page or PageRequest())

    # -- runs ----------------------------------------------------------------------------

    def create_run(self, run: NewRun) -> RunRecord:
        with self._write() as conn:
            return runs.create_run(conn, run, utc_now())

    def get_run(self, run: Pathspec) -> RunRecord:
        run.expect(Level.RUN)
        with self._reads() as reads:
            row = read_run_row(reads, run)
        if not runs.stale_runs([row], utc_now()):
            return runs.load_runs([row])[0]
        with self._write() as conn:
            runs.reap_lost(conn, [row])
            return runs.load_runs([run_row(conn, run)])[0]

    def run_exists(self, run: Pathspec, *, namespace: str | None = None) -> bool:
        run.expect(Level.RUN)
        if namespace is not None:
            validate_tag(namespace)
        with self._reads() as reads:
            return run_exists(reads, run, namespace)

    def find_runs(
        self, filter: RunFilter | None = None, page: PageRequest | None = None
    ) -> Page[RunRecord]:
        filter = filter or RunFilter()
        page = page or PageRequest()
        if _reads_liveness(filter):
            # A search by status must see silent runs as lost, not only the rows it returns.
            with self._reads() as reads:
                silent = runs.stale_runs(runs.running_runs(reads, filter.flow_name), utc_now())
            if silent:
                with self._write() as conn:
                    runs.reap_lost(conn, silent)
        with self._reads() as reads:
            rows, cursor = search.find_runs(reads, filter, page.limit, page.cursor)
        stale = runs.stale_runs(rows, utc_now())
        if not stale:
            return Page(tuple(runs.load_runs(rows)), cursor)
        with self._write() as conn:
            # Record the silent runs of this page lost, then read the page again: their new
            # status is what a status condition or order must see.
            runs.reap_lost(conn, stale)
            rows, cursor = search.find_runs(ConnectionReads(conn), filter, page.limit, page.cursor)
            return Page(tuple(runs.load_runs(rows)), cursor)

    def find_tags(
        self,
        flow_name: str | None = None,
        prefix: str | None = None,
        page: PageRequest | None = None,
        *,
        namespace: str | None = None,
    ) -> Page[TagCount]:
        if flow_name is not None:
            validate_name("flow", flow_name)
        for name, value in (("prefix", prefix), ("namespace", namespace)):
            if value is not None and not isinstance(value, str):
                raise InvalidArgument(
                    f"{name} must be a string, got {type(value).__name__} {value!r:.60}"
                )
        with self._reads() as reads:
            return runs.find_tags(reads, flow_name, prefix, page or PageRequest(), namespace)

    def set_run_status(
        self, run: Pathspec, status: Status, at: datetime | None = None
    ) -> RunRecord:
        with self._write() as conn:
            return runs.set_run_status(conn, run, Status(status), at or utc_now())

    def heartbeat(self, run: Pathspec, at: datetime | None = None) -> RunRecord:
        with self._write() as conn:
            return runs.heartbeat(conn, run, at or utc_now())

    def delete_run(self, run: Pathspec) -> None:
        self.get_run(run)  # a silent run is recorded lost first: then it may go
        with self._write() as conn:
            runs.delete_run(conn, run)

    def add_tags(self, run: Pathspec, tags: Iterable[str]) -> RunRecord:
        return self.replace_tags(run, (), tags)

    def remove_tags(self, run: Pathspec, tags: Iterable[str]) -> RunRecord:
        return self.replace_tags(run, tags, ())

    def replace_tags(self, run: Pathspec, remove: Iterable[str], add: Iterable[str]) -> RunRecord:
        run.expect(Level.RUN)
        remove, add = _strings("remove", remove), _strings("add", add)
        with self._write() as conn:
            runs.remove_tags(conn, run, remove)
            runs.add_tags(conn, run, add)
            return runs.load_runs([run_row(conn, run)])[0]

    # -- steps and tasks -----------------------------------------------------------------

    @contextmanager
    def _keys(self, pathspec: Pathspec) -> Iterator[Keys]:
        """A write transaction with the keys of ``pathspec``'s run (and task) resolved."""
        with self._write() as conn:
            yield Keys.for_path(conn, pathspec)

    def create_step(self, step: NewStep) -> StepRecord:
        with self._keys(step.pathspec) as keys:
            tasks.create_steps(keys, [step], utc_now())
            return tasks.read_step(ConnectionReads(keys.conn), step.pathspec)

    def get_step(self, step: Pathspec) -> StepRecord:
        step.expect(Level.STEP)
        with self._reads() as reads:
            return tasks.read_step(reads, step)

    def find_steps(self, run: Pathspec, page: PageRequest | None = None) -> Page[StepRecord]:
        run.expect(Level.RUN)
        with self._reads() as reads:
            return tasks.read_steps(reads, run, page or PageRequest())

    def create_task(self, task: NewTask) -> TaskRecord:
        with self._keys(task.pathspec) as keys:
            tasks.create_tasks(keys, [task], utc_now())
            return tasks.get_task(keys, task.pathspec)

    def get_task(self, task: Pathspec) -> TaskRecord:
        task.expect(Level.TASK)
        with self._reads() as reads:
            return tasks.read_task(reads, task)

    def find_tasks(self, scope: Pathspec, page: PageRequest | None = None) -> Page[TaskRecord]:
        if scope.level not in (Level.RUN, Level.STEP):
            raise InvalidArgument(
                f"expected a run 'Flow/run_id' or a step 'Flow/run_id/step', got {str(scope)!r}"
            )
        with self._reads() as reads:
            return tasks.read_tasks(reads, scope, page or PageRequest())

    def find_child_tasks(self, task: Pathspec, page: PageRequest | None = None) -> Page[TaskRecord]:
        task.expect(Level.TASK)
        with self._reads() as reads:
            return tasks.read_child_tasks(reads, task, page or PageRequest())

    def set_task_status(
        self, task: Pathspec, status: Status, at: datetime | None = None
    ) -> TaskRecord:
        change = TaskStatusChange(task, Status(status), at)
        with self._keys(task) as keys:
            tasks.set_task_statuses(keys, [change], utc_now())
            return tasks.get_task(keys, task)

    # -- attempts ------------------------------------------------------------------------

    def start_attempt(self, attempt: NewAttempt) -> AttemptRecord:
        with self._keys(attempt.pathspec) as keys:
            tasks.start_attempts(keys, [attempt], utc_now())
            return tasks.read_attempt(ConnectionReads(keys.conn), attempt.pathspec, attempt.number)

    def finish_attempt(self, end: AttemptEnd) -> AttemptRecord:
        with self._keys(end.pathspec) as keys:
            tasks.end_attempts(keys, [end], utc_now())
            return tasks.read_attempt(ConnectionReads(keys.conn), end.pathspec, end.number)

    def get_attempt(self, task: Pathspec, number: int | None = None) -> AttemptRecord:
        task.expect(Level.TASK)
        if number is not None:
            check_attempt(number, "number")
        with self._reads() as reads:
            return tasks.read_attempt(reads, task, number)

    def find_attempts(self, task: Pathspec, page: PageRequest | None = None) -> Page[AttemptRecord]:
        task.expect(Level.TASK)
        with self._reads() as reads:
            return tasks.read_attempts(reads, task, page or PageRequest())

    # -- metadata, artifacts, logs -------------------------------------------------------

    def record_metadata(self, entries: Sequence[NewMetadata]) -> None:
        if entries:
            with self._keys(_one_run(entries)) as keys:
                records.record_metadata(keys, entries, utc_now())

    def find_metadata(
        self,
        target: Pathspec,
        page: PageRequest | None = None,
        *,
        attempt: int | None = None,
        field_name: str | None = None,
    ) -> Page[MetadataEntry]:
        if attempt is not None:
            check_attempt(attempt)
        with self._reads() as reads:
            return records.find_metadata(reads, target, page or PageRequest(), attempt, field_name)

    def record_artifacts(self, artifacts: Sequence[NewArtifact]) -> None:
        if artifacts:
            with self._keys(_one_run(artifacts)) as keys:
                records.record_artifacts(keys, artifacts, utc_now())

    def get_artifact(self, artifact: Pathspec, attempt: int | None = None) -> ArtifactRecord:
        artifact.expect(Level.ARTIFACT)
        if attempt is not None:
            check_attempt(attempt)
        with self._reads() as reads:
            return records.get_artifact(reads, artifact, attempt)

    def find_artifacts(
        self, task: Pathspec, page: PageRequest | None = None, *, attempt: int | None = None
    ) -> Page[ArtifactRecord]:
        task.expect(Level.TASK)
        if attempt is not None:
            check_attempt(attempt)
        with self._reads() as reads:
            return records.find_artifacts(reads, task, page or PageRequest(), attempt)

    def append_log_lines(self, lines: Sequence[NewLogLine]) -> None:
        if lines:
            with self._keys(_one_run(lines)) as keys:
                records.append_log_lines(keys, lines, utc_now())

    def read_log_lines(
        self,
        task: Pathspec,
        *,
        attempt: int,
        stream: LogStream,
        offset: int = 0,
        limit: int = 1000,
    ) -> list[LogLine]:
        task.expect(Level.TASK)
        with self._reads() as reads:
            return records.read_log_lines(reads, task, attempt, stream, offset, limit)

    # -- batches -------------------------------------------------------------------------

    def write_batch(self, batch: Batch) -> BatchResult:
        with self._write() as conn:
            return batches.write_batch(conn, batch, utc_now())


_LIVENESS = frozenset({FieldKind.STATUS, FieldKind.FINISHED_AT, FieldKind.DURATION})


def _reads_liveness(filter: RunFilter) -> bool:
    """Whether a search depends on what recording a silent run lost changes: its status
    (``running`` or ``lost`` in ``statuses``) or, in ``where`` and ``order_by``, its status,
    finish time or duration."""
    if filter.statuses & {Status.RUNNING, Status.LOST}:
        return True
    if filter.where_expr is not None and where_fields(filter.where_expr) & _LIVENESS:
        return True
    return any(k.field.kind in _LIVENESS for k in filter.order_keys)


def _one_run(items: Sequence[NewMetadata | NewArtifact | NewLogLine]) -> Pathspec:
    run_specs = {item.pathspec.truncate(Level.RUN) for item in items}
    if len(run_specs) != 1:
        raise InvalidArgument(
            f"one call records items of one run, got items of {len(run_specs)} runs: "
            f"{', '.join(sorted(map(str, run_specs)))}"
        )
    return run_specs.pop()


def _strings(what: str, tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        raise InvalidTag(
            f"tags to {what} must be a collection of strings, got the string {tags!r} "
            f"(write [{tags!r}])"
        )
    return list(tags)


def _is_unique_violation(exc: sa.exc.IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)  # psycopg
    return sqlstate == "23505" or "UNIQUE constraint failed" in str(exc.orig)
