"""Service benchmark: recording throughput and read latency through a real ``flowtrail
service`` process (uvicorn, ``--workers N``) over PostgreSQL, with the HTTP store as client.

Measured:

* recording throughput: tasks recorded per second with ``HttpStore.write_batch`` by 1, 8 and
  32 concurrent writers (processes forked from this one, as each run has a scheduler
  process of its own, each with its own HTTP store and its own run); each task is created,
  runs one attempt with 5 metadata entries and 5 artifact rows, and succeeds —
  bench/store.py's batches, ``--batch-tasks`` tasks per request;
* reads at 100,000 runs (p50/p95 of the wall time of each call, client included):
  the latest run of a flow (``find_runs`` page 1 of size 1), a tag listing (``find_tags``
  of the big flow, first page of 50) and a compound search (``where="tag = 'team:a' and
  user = 'alice' and created_at < T"``, first page of 50).

Goals (the issue): at least 2,000 tasks recorded per second; each read under 10 ms p50.

The database is new (dropped at the end) and filled fast with bench/store.py's ``fill``
(rows inserted straight into the store's tables through the SQL store's engine), then
``ANALYZE``; every measured call goes through HTTP. Progress goes to stderr, the report to
stdout; it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _common import (
    DEFAULT_POSTGRES_URL,
    POSTGRES_ENV,
    PostgresUnavailable,
    Progress,
    analyze,
    fresh_postgres_database,
    machine_info,
    percentile_ms,
    postgres_version,
    ratio_text,
    render_table,
    time_calls,
)
from store import BIG_FLOW, fill, write_batches

from flowtrail.model import NewRun, PageRequest, Pathspec, RunFilter, Status
from flowtrail.store import SqlStore, open_store
from flowtrail.store.http import HttpStore, connect_http_store

GOAL_TASKS_PER_S = 2_000.0
GOAL_READ_MS = 10.0
PAGE = 50
Q_LATEST = "latest run (find_runs, page of 1)"
Q_TAGS = "tag listing (find_tags, page of 50)"
Q_COMPOUND = "compound where search (page of 50)"


@dataclass(frozen=True)
class Throughput:
    writers: int
    tasks: int
    wall_s: float
    batch_ns: list[int]

    @property
    def tasks_per_s(self) -> float:
        return self.tasks / self.wall_s


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_service(db: str, workers: int, progress: Callable[[str], None]) -> Iterator[str]:
    """``flowtrail service --db DB --workers N`` on a free port; yields its URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRAIL_")}
    with tempfile.TemporaryDirectory(prefix="flowtrail-bench-service-") as folder:
        log = Path(folder) / "service.log"
        command = [sys.executable, "-m", "flowtrail", "service", "--db", db]
        command += ["--blobs", str(Path(folder) / "blobs"), "--port", str(port)]
        command += ["--workers", str(workers)]
        with log.open("wb") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the service exited:\n{log.read_text()}")
                try:
                    if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the service did not start:\n{log.read_text()}")
                time.sleep(0.1)
            progress(f"service up at {url} ({workers} workers)")
            yield url
        finally:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def measure_throughput(url: str, writers: int, batches: int, per_batch: int) -> Throughput:
    """``writers`` processes (forked from this one, as each run has a scheduler process of
    its own), each with its own HTTP store and run, write ``batches`` timed batches of
    ``per_batch`` tasks after one untimed batch; the wall time spans them all."""
    setup = connect_http_store(url)
    runs: list[Pathspec] = []
    plans = []
    for _ in range(writers):
        run = setup.create_run(NewRun(BIG_FLOW, user="bench", tags=frozenset({"team:b"})))
        runs.append(run.pathspec)
        setup.write_batch(write_batches(run.pathspec, 0, 1, per_batch)[0])
        plans.append(write_batches(run.pathspec, 1, batches, per_batch))
    context = multiprocessing.get_context("fork")
    gate = context.Barrier(writers + 1)
    results = context.Queue()

    def work(i: int) -> None:
        store = connect_http_store(url)  # made in the child: a client is not fork-safe
        durations: list[int] = []
        try:
            gate.wait()
            for batch in plans[i]:
                begin = time.perf_counter_ns()
                store.write_batch(batch)
                durations.append(time.perf_counter_ns() - begin)
            results.put((i, durations, None))
        except BaseException as exc:  # reported by the parent
            results.put((i, durations, repr(exc)))
        finally:
            store.close()

    processes = [context.Process(target=work, args=(i,)) for i in range(writers)]
    for process in processes:
        process.start()
    gate.wait()
    started = time.perf_counter()
    collected = [results.get() for _ in processes]
    wall = time.perf_counter() - started
    for process in processes:
        process.join()
    errors = [error for _, _, error in collected if error is not None]
    if errors:
        raise RuntimeError(f"a writer failed: {errors[0]}")
    for run in runs:
        setup.set_run_status(run, Status.SUCCEEDED)
    setup.close()
    return Throughput(
        writers, writers * batches * per_batch, wall, [d for _, ds, _ in collected for d in ds]
    )


def read_calls(store: HttpStore, runs: int) -> list[tuple[str, Callable[[], Any]]]:
    """The measured reads, each one call of the HTTP store (the compound search's time
    bound halves the filled history: a run a minute, the newest now)."""
    before = (datetime.now(UTC) - timedelta(minutes=runs // 2)).isoformat()
    where = f"tag = 'team:a' and user = 'alice' and created_at < '{before}'"
    compound = RunFilter.of(BIG_FLOW, where=where)
    return [
        (Q_LATEST, lambda: store.find_runs(RunFilter(flow_name=BIG_FLOW), PageRequest(1))),
        (Q_TAGS, lambda: store.find_tags(BIG_FLOW, None, PageRequest(PAGE))),
        (Q_COMPOUND, lambda: store.find_runs(compound, PageRequest(PAGE))),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example:\n  bin/bench service\n  bin/bench service --quick",
    )
    parser.add_argument("--runs", type=int, default=100_000, help="runs in the database")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES_URL),
        help=f"the PostgreSQL server (a database is created there and dropped); default "
        f"${POSTGRES_ENV} or {DEFAULT_POSTGRES_URL}",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="service worker processes (default 2)"
    )
    parser.add_argument(
        "--writers", default="1,8,32", help="concurrent writers to measure, comma-separated"
    )
    parser.add_argument("--batches", type=int, default=20, help="timed batches per writer")
    parser.add_argument("--batch-tasks", type=int, default=50, help="tasks per batch")
    parser.add_argument("--reads", type=int, default=200, help="timed calls per read")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls per read")
    parser.add_argument("--seed", type=int, default=7, help="seed of the filled history")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 2,000 runs, writers 1 and 4, few samples (figures mean little)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.writers, args.batches, args.reads, args.warmup = 2_000, "1,4", 3, 10, 2
        args.workers = min(args.workers, 2)
    writer_counts = [int(w) for w in args.writers.split(",") if w.strip()]
    progress = Progress()
    version = postgres_version(args.postgres_url)
    try:
        with fresh_postgres_database(args.postgres_url, "flowtrail_bench_service") as db:
            sql = open_store(db)
            assert isinstance(sql, SqlStore)
            try:
                progress(f"filling {args.runs:,} runs")
                fill(sql, args.runs, args.seed, progress)
                analyze(sql.engine)
            finally:
                sql.close()
            with running_service(db, args.workers, progress) as url:
                reads = []
                reader = connect_http_store(url)
                try:
                    for query, call in read_calls(reader, args.runs):
                        items = len(call())
                        reads.append((query, items, time_calls(call, args.reads, args.warmup)))
                        progress(f"measured {query}")
                finally:
                    reader.close()
                writes = []
                for writers in writer_counts:
                    writes.append(measure_throughput(url, writers, args.batches, args.batch_tasks))
                    progress(f"measured {writers} writers: {writes[-1].tasks_per_s:,.0f} tasks/s")
    except PostgresUnavailable as exc:
        print(f"service bench: not measured: {exc}")
        return 0
    report(args, version, reads, writes)
    return 0


def report(
    args: argparse.Namespace,
    version: str | None,
    reads: list[tuple[str, int, list[int]]],
    writes: list[Throughput],
) -> None:
    print("\n".join(machine_info(version)))
    print(f"service:    flowtrail service --workers {args.workers}, PostgreSQL, no tokens")
    print()
    print(f"reads through the service at {args.runs:,} runs")
    rows = []
    for query, items, durations in reads:
        p50 = percentile_ms(durations, 50)
        met, how = ratio_text(p50, GOAL_READ_MS, higher_is_better=False)
        rows.append(
            [
                query,
                str(items),
                f"{p50:.2f}",
                f"{percentile_ms(durations, 95):.2f}",
                f"< {GOAL_READ_MS:g} ms p50",
                f"{'met' if met else 'MISSED'} ({how})",
            ]
        )
    print(render_table(("query", "items", "p50 ms", "p95 ms", "goal", "result"), rows))
    print()
    print(
        f"recording through the service: batches of {args.batch_tasks} tasks "
        f"(each: 5 metadata entries, 5 artifacts), {args.batches} timed batches per writer"
    )
    rows = []
    for w in writes:
        met, how = ratio_text(w.tasks_per_s, GOAL_TASKS_PER_S, higher_is_better=True)
        rows.append(
            [
                str(w.writers),
                f"{w.tasks:,}",
                f"{w.tasks_per_s:,.0f}",
                f"{percentile_ms(w.batch_ns, 50):.1f}",
                f"{percentile_ms(w.batch_ns, 95):.1f}",
                f">= {GOAL_TASKS_PER_S:,.0f} tasks/s",
                f"{'met' if met else 'MISSED'} ({how})",
            ]
        )
    headers = ("writers", "tasks", "tasks/s", "batch p50 ms", "batch p95 ms", "goal", "result")
    print(render_table(headers, rows))


if __name__ == "__main__":
    sys.exit(main())
