"""Metadata store benchmark: read latency and batch-write throughput at 10,000 and 100,000 runs,
on SQLite and PostgreSQL.

Measured, each through the public store API:

* latest run of a flow: ``find_runs(RunFilter(flow), PageRequest(1))``, for the big flow (80%
  of runs) and for a flow run once, before all the others;
* first page of runs with a tag: ``find_runs(RunFilter.of(flow, tags=["prod"]), PageRequest(50))``
  (``prod`` is on about 1% of runs);
* all metadata of one task: ``find_metadata(task)`` (a task with 20 entries, two attempts);
* below that task's run: its steps (``find_steps``), the tasks of its step (``find_tasks``),
  the task's latest attempt (``get_attempt``) and its artifacts (``find_artifacts``, 5 in
  each attempt: those of the latest);
* batch writes: tasks per second written with ``write_batch``, each task carrying a task, an
  attempt started and ended, 5 metadata entries, 5 artifact rows and a status change.

Goals (from the issue): each read at most 5 ms p50 at 100,000 runs on SQLite; at least 5,000
tasks recorded per second in batches on SQLite. PostgreSQL has no goal; its figures are shown
against the SQLite ones for comparison.

Each size gets a fresh database: a SQLite file (WAL) in a temporary folder, or a new
PostgreSQL database, dropped at the end even on failure. The history is filled fast with rows
inserted straight into the store's tables (those ``create_run`` and ``write_batch`` write),
then ``ANALYZE``; the runs read by name, and every measured write, use the store API.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from _common import (
    DEFAULT_POSTGRES_URL,
    POSTGRES_ENV,
    PostgresUnavailable,
    Progress,
    analyze,
    database_size,
    fresh_postgres_database,
    machine_info,
    percentile_ms,
    plans_of,
    postgres_version,
    ratio_text,
    render_table,
    sqlite_database,
    time_calls,
    write_connection,
)

from flowtrail.model import (
    AttemptEnd,
    Batch,
    ExceptionInfo,
    ForeachFrame,
    Level,
    MetadataValue,
    NewArtifact,
    NewAttempt,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    PageRequest,
    Pathspec,
    RunFilter,
    Status,
    StepKind,
    TaskStatusChange,
    from_epoch_ms,
    to_epoch_ms,
    utc_now,
)
from flowtrail.store import SqlStore, open_store
from flowtrail.store.sql import schema
from flowtrail.store.sql.dialects import is_sqlite
from flowtrail.store.sql.runs import rebuild_tag_summaries

BIG_FLOW = "TrainFlow"
LONE_FLOW = "NightlyFlow"  # one run, the oldest of all: its latest run is far down the runs
RARE_TAG = "prod"
PAGE = 50
GOAL_READ_P50_MS = 5.0
GOAL_TASKS_PER_S = 5_000.0
GOAL_RUNS = 100_000
Q_LATEST = "latest run of a flow"
Q_LONE = "latest run of a flow run once, long ago"
Q_TAGGED = "first page of runs with a tag"
Q_METADATA = "all metadata of one task"
Q_STEPS = "steps of a run"
Q_TASKS = "tasks of a step"
Q_ATTEMPT = "latest attempt of a task"
Q_ARTIFACTS = "artifacts of a task"
THROUGHPUT = "batch writes"
READ_HEADERS = ("backend", "runs", "query", "items", "p50 ms", "p95 ms", "goal", "result")
WRITE_HEADERS = (
    *("backend", "runs", "measurement", "tasks", "tasks/s"),
    *("batch p50 ms", "batch p95 ms", "goal", "result"),
)

# -- the history that fills the database ----------------------------------------------------

#: Where runs go: one big flow, two middling ones, and a long tail of small ones.
FLOW_SHARES: tuple[tuple[str, float], ...] = (
    (BIG_FLOW, 0.80),
    ("EtlFlow", 0.10),
    ("ReportFlow", 0.05),
    *((f"SmallFlow{i:02d}", 0.05 / 20) for i in range(20)),
)
STATUS_SHARES = ((Status.SUCCEEDED, 0.90), (Status.FAILED, 0.07), (Status.LOST, 0.02))
RARE_TAG_SHARE = 0.01
RUNNING_TAIL = 10  # the newest runs are still running, with a fresh heartbeat
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
CHUNK = 5_000  # runs per insert transaction


def _metadata_columns(field_name: str, type_: str, value: Any) -> dict[str, Any]:
    typed = MetadataValue.of(value)
    return {
        "field_name": field_name,
        "type": type_,
        "value_type": str(typed.type),
        "value_text": typed.to_text(),
        "value_num": typed.to_number(),
    }


#: The metadata columns of each filled task, as a runtime records them.
FILLED_TASK_METADATA: tuple[dict[str, Any], ...] = (
    _metadata_columns("attempt", "attempt", 0),
    _metadata_columns("host", "runtime", "worker-07.internal"),
    _metadata_columns("log-location-stdout", "log", "s3://bucket/logs/stdout.log"),
    _metadata_columns("code-package-sha", "code", "9f" * 32),
)
OOM = ExceptionInfo("MemoryError", "out of memory", "Traceback ...")
FAILURE = {"type": "ValueError", "message": "bad input", "traceback": "Traceback ..."}
#: The tables the fill writes, parents first.
FILL_TABLES = tuple(
    schema.metadata.tables[name]
    for name in ("runs", "run_tags", "steps", "tasks", "task_edges", "attempts", "metadata_entries")
)


#: The tables whose keys the fill hands out itself, in the order of :class:`_Keys`.
KEYED_TABLES = (schema.runs, schema.steps, schema.tasks, schema.metadata_entries)


@dataclass
class _Keys:
    """The next primary keys to hand out while filling (rows are inserted with their key, so
    that tags, tasks and metadata can name their parents without reading them back)."""

    run: int
    step: int
    task: int
    metadata: int


def _max_pk(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.pk), 0))).scalar_one())


def fill(store: SqlStore, total: int, seed: int, progress: Callable[[str], None]) -> None:
    """Insert ``total`` runs, each with steps ``start`` and ``end``, a task each, their
    attempts and metadata, in chunks of :data:`CHUNK` runs, with the column values
    ``create_run`` and ``write_batch`` write."""
    rng = random.Random(seed)
    now_ms = to_epoch_ms(utc_now())
    start_ms = now_ms - total * 60_000  # a run a minute, the newest one now
    names = [name for name, _ in FLOW_SHARES]
    weights = [share for _, share in FLOW_SHARES]
    with write_connection(store.engine) as conn, conn.begin():
        conn.execute(
            sa.insert(schema.flows).values(last_run_number=0),
            [{"name": n, "created_at": from_epoch_ms(start_ms), "metadata": {}} for n in names],
        )
        flow_pks = {row.name: int(row.pk) for row in conn.execute(sa.select(schema.flows))}
        keys = _Keys(*(_max_pk(conn, t) + 1 for t in KEYED_TABLES))
    numbers = dict.fromkeys(names, 0)
    last_run_ms: dict[str, int] = {}
    started = time.perf_counter()
    done = 0
    while done < total:
        rows: dict[str, list[dict[str, Any]]] = {table.name: [] for table in FILL_TABLES}
        for i in range(done, min(done + CHUNK, total)):
            flow = rng.choices(names, weights)[0]
            numbers[flow] += 1
            created_ms = start_ms + i * 60_000 + rng.randrange(59_000)
            last_run_ms[flow] = created_ms
            running = i >= total - RUNNING_TAIL
            _add_run(rows, rng, keys, (flow, flow_pks[flow], numbers[flow]), created_ms, running)
        with write_connection(store.engine) as conn, conn.begin():
            for table in FILL_TABLES:
                conn.execute(sa.insert(table), rows[table.name])
        done += len(rows["runs"])
        rate = done / (time.perf_counter() - started)
        progress(f"  filled {done:,} / {total:,} runs ({rate:,.0f} runs/s)")
    with write_connection(store.engine) as conn, conn.begin():
        for name, number in numbers.items():
            last = last_run_ms.get(name)
            conn.execute(
                sa.update(schema.flows)
                .where(schema.flows.c.pk == flow_pks[name])
                .values(
                    last_run_number=number,
                    last_run_at=from_epoch_ms(last) if last is not None else None,
                )
            )
        # The tag rows went in directly: count them as the store would have.
        rebuild_tag_summaries(conn)
        if not is_sqlite(conn):
            # The keys were given explicitly: move the sequences past them, or the store's
            # own inserts would collide with the filled rows.
            for table in KEYED_TABLES:
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'pk'), "
                        f"(SELECT max(pk) FROM {table.name}))"
                    )
                )


def _pick_status(rng: random.Random) -> Status:
    draw = rng.random()
    for status, share in STATUS_SHARES:
        if draw < share:
            return status
        draw -= share
    return Status.CANCELLED


def _add_run(
    rows: dict[str, list[dict[str, Any]]],
    rng: random.Random,
    keys: _Keys,
    flow: tuple[str, int, int],
    created_ms: int,
    running: bool,
) -> None:
    """Append one run's rows to ``rows``: the run, its tags, and steps ``start`` and ``end``
    with a task, an attempt and metadata each."""
    flow_name, flow_pk, number = flow
    status = Status.RUNNING if running else _pick_status(rng)
    created = from_epoch_ms(created_ms)
    ended = None if running else from_epoch_ms(created_ms + rng.randrange(30_000, 3_600_000))
    user = rng.choice(USERS)
    run_pk = keys.run
    keys.run += 1
    rows["runs"].append(
        {
            "pk": run_pk,
            "flow_pk": flow_pk,
            "run_id": str(number),
            "run_number": number,
            "status": str(status),
            "created_at": created,
            "finished_at": ended,
            # A lost run finished when it was last heard of; a running one beats now, with
            # an hour's timeout so that no measured read is the one that reaps it.
            "heartbeat_at": ended or utc_now(),
            "heartbeat_timeout_ms": 3_600_000 if running else 120_000,
            "user_name": user,
            "parameters": {"alpha": round(rng.random(), 3), "epochs": rng.randrange(1, 50)},
            "origin_run_id": None,
            "trigger": [],
            "code_package": {
                "sha": f"{rng.getrandbits(256):064x}",
                "script_name": "flow.py",
                "info": {},
            },
            "flow_metadata": {},
        }
    )
    user_tags = [f"team:{rng.choice('abc')}", f"model:v{rng.randrange(1, 6)}"]
    if rng.random() < RARE_TAG_SHARE:
        user_tags.append(RARE_TAG)
    system_tags = [f"user:{user}", f"runtime:{rng.choice(('local', 'kubernetes'))}"]
    system_tags.append("python_version:3.11.7")
    for tag_list, is_system in ((user_tags, False), (system_tags, True)):
        rows["run_tags"].extend(
            {"run_pk": run_pk, "tag": tag, "is_system": is_system, "flow_pk": flow_pk}
            for tag in tag_list
        )
    first_task = keys.task
    for step, kind, next_steps in (("start", StepKind.START, ["end"]), ("end", StepKind.END, [])):
        rows["steps"].append(
            {
                "pk": keys.step,
                "run_pk": run_pk,
                "name": step,
                "kind": str(kind),
                "next_steps": next_steps,
                "created_at": created,
            }
        )
        parents = [f"{flow_name}/{number}/start/{first_task}"] if step == "end" else []
        rows["tasks"].append(
            {
                "pk": keys.task,
                "run_pk": run_pk,
                "step_pk": keys.step,
                "task_id": str(keys.task),
                "status": str(status),
                "created_at": created,
                "finished_at": ended,
                "foreach_stack": [],
                "parent_tasks": parents,
                "origin_pathspec": None,
            }
        )
        if parents:
            rows["task_edges"].append(
                {"run_pk": run_pk, "parent_task_id": str(first_task), "child_pk": keys.task}
            )
        rows["attempts"].append(
            {
                "task_pk": keys.task,
                "number": 0,
                "status": str(status),
                "started_at": created,
                "finished_at": ended,
                "host": "worker-07.internal",
                "pid": rng.randrange(100, 60_000),
                "exception": FAILURE if status is Status.FAILED else None,
            }
        )
        rows["metadata_entries"].extend(
            {"pk": keys.metadata + i, "run_pk": run_pk, "task_pk": keys.task, "attempt": 0}
            | {"created_at": created, **columns}
            for i, columns in enumerate(FILLED_TASK_METADATA)
        )
        keys.metadata += len(FILLED_TASK_METADATA)
        keys.step += 1
        keys.task += 1


# -- the task whose metadata is read ----------------------------------------------------------


def _task_metadata(task: Pathspec, attempt: int, count: int) -> list[NewMetadata]:
    """``count`` metadata entries of one attempt (at most 10), as a runtime records them."""
    entries: list[tuple[str, str, Any]] = [
        ("attempt", "attempt", attempt),
        ("host", "runtime", f"worker-{attempt:02d}.internal"),
        ("pid", "runtime", 4242 + attempt),
        ("log-location-stdout", "log", f"s3://bucket/logs/{task}/{attempt}/stdout.log"),
        ("code-package-sha", "code", "9f" * 32),
        ("python-version", "runtime", "3.11.7"),
        ("foreach-index", "foreach", 0),
        ("started-at-ms", "runtime", 1_700_000_000_000 + attempt),
        ("retry-reason", "attempt", "retry" if attempt else "first"),
        ("resources", "runtime", {"cpu": 2, "memory_mb": 4096}),
    ]
    return [
        NewMetadata(task, name, MetadataValue.of(value), type=type_, attempt=attempt)
        for name, type_, value in entries[:count]
    ]


def _probe_artifacts(probe: Pathspec, attempt: int) -> tuple[NewArtifact, ...]:
    """The artifacts of one attempt of the probe task, as a batch of the bench writes them."""
    return tuple(
        NewArtifact(
            probe.child(name),
            attempt,
            sha=f"{attempt:02d}{i:02d}" * 16,
            size=1024 + i,
            python_type=python_type,
            encoding="pickle-v4",
            value=value,
        )
        for i, (name, python_type, value) in enumerate(ARTIFACTS)
    )


def record_probe_run(store: SqlStore) -> Pathspec:
    """Record one run of the big flow through ``create_run`` and ``write_batch``: a foreach
    over four ``train`` tasks whose first fails once and succeeds on its retry. Returns
    that task, which carries 20 metadata entries (10 per attempt) and 5 artifacts per
    attempt."""
    run = store.create_run(
        NewRun(
            BIG_FLOW,
            user="bench",
            parameters={"alpha": 0.5},
            tags=frozenset({"team:a", RARE_TAG}),
            system_tags=frozenset({"user:bench", "runtime:local"}),
        )
    ).pathspec
    start, train, join, end = (run.child(s) for s in ("start", "train", "join", "end"))
    start_task = start.child("1")
    train_tasks = [train.child(str(i)) for i in range(2, 6)]
    probe = train_tasks[0]
    first = [start_task, *train_tasks]
    store.write_batch(
        Batch(
            batch_id=uuid.uuid4().hex,
            run=run,
            steps=(
                NewStep(start, StepKind.FOREACH, ("train",)),
                NewStep(train, StepKind.LINEAR, ("join",)),
                NewStep(join, StepKind.JOIN, ("end",)),
                NewStep(end, StepKind.END),
            ),
            tasks=(
                NewTask(start_task),
                *(
                    NewTask(
                        t, foreach_stack=(ForeachFrame("start", i, 4),), parent_tasks=(start_task,)
                    )
                    for i, t in enumerate(train_tasks)
                ),
            ),
            attempts=tuple(NewAttempt(t, 0, host="worker-00.internal") for t in first),
            metadata=tuple(m for t in first for m in _task_metadata(t, 0, 10 if t == probe else 5)),
            artifacts=_probe_artifacts(probe, 0),
            attempt_ends=tuple(
                AttemptEnd(t, 0, Status.FAILED, OOM)
                if t == probe
                else AttemptEnd(t, 0, Status.SUCCEEDED)
                for t in first
            ),
            task_statuses=tuple(TaskStatusChange(t, Status.SUCCEEDED) for t in first if t != probe),
        )
    )
    join_task, end_task = join.child("6"), end.child("7")
    last = [join_task, end_task]
    store.write_batch(
        Batch(
            batch_id=uuid.uuid4().hex,
            run=run,
            tasks=(
                NewTask(join_task, parent_tasks=tuple(train_tasks)),
                NewTask(end_task, parent_tasks=(join_task,)),
            ),
            attempts=(
                NewAttempt(probe, 1, host="worker-01.internal"),
                *(NewAttempt(t, 0) for t in last),
            ),
            metadata=(
                *_task_metadata(probe, 1, 10),
                *(m for t in last for m in _task_metadata(t, 0, 5)),
            ),
            artifacts=_probe_artifacts(probe, 1),
            attempt_ends=(
                AttemptEnd(probe, 1, Status.SUCCEEDED),
                *(AttemptEnd(t, 0, Status.SUCCEEDED) for t in last),
            ),
            task_statuses=tuple(TaskStatusChange(t, Status.SUCCEEDED) for t in (probe, *last)),
            run_status=Status.SUCCEEDED,
        )
    )
    return probe


# -- measurements -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reads:
    """The latencies of one read query, and how many items it returned."""

    query: str
    items: int
    durations_ns: list[int]


@dataclass(frozen=True)
class Writes:
    """The durations of the timed ``write_batch`` calls."""

    tasks: int
    wall_s: float
    durations_ns: list[int]

    @property
    def tasks_per_s(self) -> float:
        return self.tasks / self.wall_s


@dataclass(frozen=True)
class Result:
    """Everything measured on one backend at one size."""

    backend: str
    runs: int
    reads: list[Reads]
    writes: Writes
    plans: dict[str, str]


def read_queries(store: SqlStore, probe: Pathspec) -> list[tuple[str, Callable[[], Any]]]:
    """The measured reads, each a call of the public store API."""
    return [
        (Q_LATEST, lambda: store.find_runs(RunFilter(flow_name=BIG_FLOW), PageRequest(1))),
        (Q_LONE, lambda: store.find_runs(RunFilter(flow_name=LONE_FLOW), PageRequest(1))),
        (
            Q_TAGGED,
            lambda: store.find_runs(RunFilter.of(BIG_FLOW, tags=[RARE_TAG]), PageRequest(PAGE)),
        ),
        (Q_METADATA, lambda: store.find_metadata(probe)),
        (Q_STEPS, lambda: store.find_steps(probe.truncate(Level.RUN))),
        (Q_TASKS, lambda: store.find_tasks(probe.truncate(Level.STEP))),
        (Q_ATTEMPT, lambda: [store.get_attempt(probe)]),
        (Q_ARTIFACTS, lambda: store.find_artifacts(probe)),
    ]


def measure_reads(store: SqlStore, probe: Pathspec, samples: int, warmup: int) -> list[Reads]:
    """Time each read ``samples`` times after ``warmup`` untimed calls."""
    results = []
    for query, call in read_queries(store, probe):
        items = len(call())
        results.append(Reads(query, items, time_calls(call, samples, warmup)))
    return results


def write_batches(run: Pathspec, first: int, count: int, per_batch: int) -> list[Batch]:
    """``count`` batches of ``per_batch`` tasks of step ``train`` (which the batch numbered 0
    creates): each task is created, runs one attempt with 5 metadata entries and 5
    artifacts, and succeeds."""
    train = run.child("train")
    batches = []
    for b in range(first, first + count):
        task_specs = [train.child(str(b * per_batch + k + 1)) for k in range(per_batch)]
        batches.append(
            Batch(
                batch_id=uuid.uuid4().hex,
                run=run,
                steps=(NewStep(train, StepKind.LINEAR, ("end",)),) if b == 0 else (),
                tasks=tuple(NewTask(t) for t in task_specs),
                attempts=tuple(
                    NewAttempt(t, 0, host="worker-03.internal", pid=77) for t in task_specs
                ),
                metadata=tuple(m for t in task_specs for m in _task_metadata(t, 0, 5)),
                artifacts=tuple(
                    NewArtifact(
                        t.child(name),
                        0,
                        sha=uuid.uuid4().hex * 2,
                        size=1024 + i,
                        python_type=python_type,
                        encoding="pickle-v4",
                        value=value,
                    )
                    for t in task_specs
                    for i, (name, python_type, value) in enumerate(ARTIFACTS)
                ),
                attempt_ends=tuple(AttemptEnd(t, 0, Status.SUCCEEDED) for t in task_specs),
                task_statuses=tuple(TaskStatusChange(t, Status.SUCCEEDED) for t in task_specs),
                heartbeat=True,
            )
        )
    return batches


#: The artifacts of each written task: name, Python type, scalar value kept for search.
ARTIFACTS: tuple[tuple[str, str, Any], ...] = (
    ("data", "builtins.dict", None),
    ("model", "sklearn.linear_model.LogisticRegression", None),
    ("accuracy", "builtins.float", 0.93),
    ("epochs", "builtins.int", 12),
    ("name", "builtins.str", "baseline"),
)


def measure_writes(store: SqlStore, batches: int, per_batch: int) -> Writes:
    """Write one untimed batch (it creates the step), then ``batches`` timed ones, into a
    new run of the big flow. The batches are built before the clock starts."""
    run = store.create_run(NewRun(BIG_FLOW, user="bench", tags=frozenset({"team:b"}))).pathspec
    store.write_batch(write_batches(run, 0, 1, per_batch)[0])
    timed = write_batches(run, 1, batches, per_batch)
    durations = []
    started = time.perf_counter()
    for batch in timed:
        begin = time.perf_counter_ns()
        store.write_batch(batch)
        durations.append(time.perf_counter_ns() - begin)
    wall = time.perf_counter() - started
    store.set_run_status(run, Status.SUCCEEDED)
    return Writes(batches * per_batch, wall, durations)


def bench_database(
    backend: str, url: str, size: int, args: argparse.Namespace, progress: Callable[[str], None]
) -> Result:
    """Fill a fresh database with ``size`` runs, then measure reads and batch writes."""
    store = open_store(url)
    assert isinstance(store, SqlStore)
    try:
        progress(f"{backend}, {size:,} runs: filling {store.url}")
        lone = store.create_run(NewRun(LONE_FLOW, user="bench")).pathspec
        store.set_run_status(lone, Status.SUCCEEDED)
        fill(store, size, args.seed, progress)
        probe = record_probe_run(store)
        analyze(store.engine)
        progress(f"{backend}, {size:,} runs: filled ({database_size(store.engine)}), ANALYZEd")
        progress(f"{backend}, {size:,} runs: timing reads, {args.reads} samples each")
        reads = measure_reads(store, probe, args.reads, args.warmup)
        progress(f"{backend}, {size:,} runs: timing {args.batches} batches of {args.batch_tasks}")
        writes = measure_writes(store, args.batches, args.batch_tasks)
        # The plan of every statement each read runs, as the store runs it.
        calls = read_queries(store, probe) if args.explain else []
        plans = {query: plans_of(store.engine, call) for query, call in calls}
        return Result(backend, size, reads, writes, plans)
    finally:
        store.close()


# -- report -------------------------------------------------------------------------------


def _judged(backend: str, measured: str, met: bool, goal: str) -> list[str]:
    """The goal and result cells: a verdict on SQLite, a comparison on PostgreSQL."""
    if backend == "sqlite":
        return [goal, f"{measured} ({'met' if met else 'MISSED'})"]
    return [f"none (SQLite's: {goal})", measured]


def read_rows(results: Sequence[Result]) -> list[list[str]]:
    """One table row per read query per backend and size."""
    rows = []
    for result in results:
        for reads in result.reads:
            p50 = percentile_ms(reads.durations_ns, 50)
            p95 = percentile_ms(reads.durations_ns, 95)
            met, ratio = ratio_text(p50, GOAL_READ_P50_MS, higher_is_better=False)
            cells = [result.backend, f"{result.runs:,}", reads.query, str(reads.items)]
            cells += [f"{p50:.2f}", f"{p95:.2f}"]
            cells += _judged(result.backend, f"{p50:.2f} ms = {ratio}", met, "5 ms p50")
            rows.append(cells)
    return rows


def write_rows(results: Sequence[Result], per_batch: int) -> list[list[str]]:
    """One table row of batch-write throughput per backend and size."""
    rows = []
    for result in results:
        w = result.writes
        met, ratio = ratio_text(w.tasks_per_s, GOAL_TASKS_PER_S, higher_is_better=True)
        cells = [result.backend, f"{result.runs:,}", f"{THROUGHPUT} ({per_batch} tasks/batch)"]
        cells += [f"{w.tasks:,}", f"{w.tasks_per_s:,.0f}"]
        cells += [f"{percentile_ms(w.durations_ns, q):.1f}" for q in (50, 95)]
        measured = f"{w.tasks_per_s:,.0f} tasks/s = {ratio}"
        cells += _judged(result.backend, measured, met, "5,000 tasks/s")
        rows.append(cells)
    return rows


def goal_lines(results: Sequence[Result]) -> list[str]:
    """The verdict on each goal of the issue, from the SQLite results."""
    lines = []
    at_goal = [r for r in results if r.backend == "sqlite" and r.runs == GOAL_RUNS]
    if not at_goal:
        lines.append(
            f"reads goal (p50 <= {GOAL_READ_P50_MS:g} ms at {GOAL_RUNS:,} runs on SQLite): "
            f"not measured at that size"
        )
    for result in at_goal:
        for reads in result.reads:
            p50 = percentile_ms(reads.durations_ns, 50)
            met = p50 <= GOAL_READ_P50_MS
            lines.append(
                f"reads goal, {reads.query}: p50 {p50:.2f} ms at {result.runs:,} runs on SQLite "
                f"-> {'met' if met else 'MISSED'}"
            )
    for result in (r for r in results if r.backend == "sqlite"):
        rate = result.writes.tasks_per_s
        met = rate >= GOAL_TASKS_PER_S
        lines.append(
            f"throughput goal (>= {GOAL_TASKS_PER_S:,.0f} tasks/s on SQLite): {rate:,.0f} "
            f"tasks/s at {result.runs:,} runs -> {'met' if met else 'MISSED'}"
        )
    return lines


def report(results: Sequence[Result], args: argparse.Namespace) -> None:
    """Print the tables, the goal verdicts and, with ``--explain``, the plans."""
    print()
    print(
        f"Read latency ({args.reads} samples each after {args.warmup} warm-up calls; "
        f"'items' is what the call returned)"
    )
    print(render_table(READ_HEADERS, read_rows(results)))
    print()
    print(
        f"Batch write throughput ({args.batches} timed batches; each task: task, attempt start "
        f"and end, 5 metadata, 5 artifacts, status)"
    )
    print(render_table(WRITE_HEADERS, write_rows(results, args.batch_tasks)))
    print()
    for line in goal_lines(results):
        print(line)
    for result in results:
        for query, plan in result.plans.items():
            print(f"\nplan, {result.backend} at {result.runs:,} runs, {query}:")
            print("  " + plan.replace("\n", "\n  "))


# -- command line -------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    parts = [part.strip().replace("_", "") for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"expected positive sizes like 10000,100000, got {text!r}")
    return [int(part) for part in parts]


def _backends(text: str) -> list[str]:
    backends = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(backends) - {"sqlite", "postgres"})
    if not backends or unknown:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of sqlite and postgres, got {text!r}"
        )
    return backends


#: The counting options: flag, default, default with ``--quick``, what it counts.
COUNTS: tuple[tuple[str, int, int, str], ...] = (
    ("--reads", 200, 10, "timed samples per read query"),
    ("--warmup", 20, 2, "untimed calls of each read before timing it"),
    ("--batch-tasks", 200, 20, "tasks per write batch, each with 5 metadata and 5 artifacts"),
    ("--batches", 25, 2, "timed write batches, after one untimed batch that creates the step"),
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options; ``--quick`` fills in small values for those not given."""
    parser = argparse.ArgumentParser(
        prog="bench/store.py",
        description=(
            "Measure the metadata store: p50/p95 latency of reads (latest run of a flow, of a "
            "big one and of one run once long ago; first page of runs with a tag; all metadata "
            "of one task) and the throughput of "
            "batch writes, on a fresh database filled with N runs, for each size and backend. "
            "Goals: each read <= 5 ms p50 at 100,000 runs on SQLite; >= 5,000 tasks/s in "
            "batches on SQLite. Progress goes to stderr, the report to stdout; exits 0 "
            "whatever the figures."
        ),
    )
    parser.add_argument(
        "--runs",
        type=_sizes,
        default=None,
        help="comma-separated database sizes in runs, each filled afresh "
        "(default 10000,100000; with --quick 300)",
    )
    parser.add_argument(
        "--backends",
        type=_backends,
        default=["sqlite", "postgres"],
        help="comma-separated backends to measure: sqlite, postgres (default both); "
        "an unreachable PostgreSQL is reported and skipped",
    )
    parser.add_argument(
        "--postgres-url",
        default=None,
        help=f"PostgreSQL server to create the bench database on (a fresh database is "
        f"created and dropped; the one named is never written); default ${POSTGRES_ENV}, "
        f"else {DEFAULT_POSTGRES_URL}",
    )
    for flag, default, quick, what in COUNTS:
        parser.add_argument(
            flag, type=int, default=None, help=f"{what} (default {default}; --quick {quick})"
        )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the generated history (default 1)"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also print the database's plan of every statement each read runs",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and few samples, for a smoke test (the figures mean nothing)",
    )
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = [300] if args.quick else [10_000, 100_000]
    for flag, default, quick, _ in COUNTS:
        name = flag.removeprefix("--").replace("-", "_")
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else default)
        if getattr(args, name) < (0 if name == "warmup" else 1):
            parser.error(f"{flag} must be at least {0 if name == 'warmup' else 1}")
    args.postgres_url = args.postgres_url or os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES_URL
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; always 0 unless it crashes."""
    args = parse_args(argv)
    progress = Progress()
    pg_version = postgres_version(args.postgres_url) if "postgres" in args.backends else None
    print("flowtrail metadata store bench")
    for line in machine_info(pg_version):
        print(line)
    sys.stdout.flush()
    results: list[Result] = []
    for backend in args.backends:
        for size in args.runs:
            if backend == "sqlite":
                with sqlite_database() as url:
                    results.append(bench_database(backend, url, size, args, progress))
                continue
            try:
                with fresh_postgres_database(args.postgres_url) as url:
                    results.append(bench_database(backend, url, size, args, progress))
            except PostgresUnavailable as exc:
                print(f"postgres: skipped: {exc}")
                break
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
