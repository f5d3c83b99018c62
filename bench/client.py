"""Client benchmark: the queries an analysis script makes, through the public client on the
embedded default (SQLite), at 1,000, 10,000 and 100,000 runs, next to Metaflow's client and
MLflow's ``search_runs`` on the same runs.

Measured (p50/p95 of the wall time of each call), for the flow holding 80% of the runs, as
flowtrail / Metaflow (local metadata) / MLflow (SQLite tracking store):

* latest run: ``flow.latest_run`` / ``flow.latest_run`` / ``search_runs(max_results=1)``;
* first page of runs with a tag: ``flow.runs('prod', limit=50)`` /
  ``islice(flow.runs('prod'), 50)`` / ``search_runs("tags.prod = 'true'", max_results=50)``;
* ``'id' in flow`` / ``'id' in flow`` / ``get_run(run_id)``;
* a compound query, first page of 50: ``flow.runs(where="tag = 'team:a' and user = 'alice' and
  created_at < T")`` / the runs of ``flow.runs('team:a')`` filtered on user and time in Python
  (Metaflow has no query language) / ``"tags.team = 'a' and attributes.user_id = 'alice' and
  attributes.start_time < T"`` (one user: MLflow's filters have no ``or``);
* one task's metadata: ``Task(p).metadata_dict`` / ``Task(p).metadata_dict`` /
  ``get_run(child).data.tags`` (MLflow has no tasks: a nested run stands for one).

The history is bench/store.py's (its ``fill``: runs spread over 23 flows, tags ``team:a|b|c``,
``model:v1..5``, ``prod`` on 1%, 8 users, a run a minute), plus its probe run, whose task has
20 metadata entries over two attempts. Each peer runs in its own virtual environment
(``.bench/venv-metaflow``, ``.bench/venv-mlflow``, created with pip the first time) as a
subprocess that writes the same runs in its own format (``_peer_metaflow.py``,
``_peer_mlflow.py``) and prints its timings as JSON.

Goals (the issue): every query under 10 ms p50 at 100,000 runs; at least 20 times faster than
both peers at 10,000 runs. Progress goes to stderr, the report to stdout; exits 0 whatever
the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    PeerUnavailable,
    Progress,
    analyze,
    machine_info,
    percentile_ms,
    provide_venv,
    render_table,
    time_calls,
)
from store import BIG_FLOW, RARE_TAG, fill, record_probe_run

from flowtrail import __version__
from flowtrail.client import Flow, Task, metadata, namespace
from flowtrail.model import PageRequest, Pathspec
from flowtrail.store import open_store

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PAGE = 50
COMPOUND_TAG = "team:a"
COMPOUND_USER = "alice"  # one user: MLflow's filters have no OR, and IN only for run ids
GOAL_P50_MS = 10.0
GOAL_P50_RUNS = 100_000
GOAL_RATIO = 20.0
GOAL_RATIO_RUNS = 10_000
QUERIES = (
    ("latest_run", "latest run"),
    ("runs_tag", "first page of runs with a tag"),
    ("member", "'id' in flow"),
    ("compound", "compound where, first page"),
    ("task_metadata", "one task's metadata"),
)
#: Each peer: its name, the pip requirement, the module to import, the venv option.
PEERS = (
    ("metaflow", "metaflow==2.19.39", "metaflow", "metaflow_venv"),
    ("mlflow", "mlflow==3.17.2", "mlflow", "mlflow_venv"),
)


@dataclass
class Figures:
    """One system's timings at one size: per query the ns of each call and the items."""

    system: str
    version: str = ""
    build_s: float | None = None
    queries: dict[str, tuple[list[int], int]] = field(default_factory=dict)
    unavailable: str | None = None


# -- the history -------------------------------------------------------------------------------


@dataclass
class History:
    """A filled home, and the spec the peers rebuild it from."""

    home: Path
    probe: Pathspec
    spec: dict[str, Any]


def build_history(folder: Path, size: int, seed: int, progress: Callable[[str], None]) -> History:
    """Fill ``folder/.flowtrail`` with ``size`` runs (bench/store.py's fill) and the probe
    run, and read back what the peers need to write the same runs."""
    home = folder / ".flowtrail"
    home.mkdir()
    db = home / "flowtrail.db"
    store = open_store(f"sqlite:///{db}")
    try:
        fill(store, size, seed, progress)  # type: ignore[arg-type]
        probe = record_probe_run(store)  # type: ignore[arg-type]
        analyze(store.engine)  # type: ignore[attr-defined]
        entries = list(store.find_metadata(probe, PageRequest(100)))
    finally:
        store.close()
    conn = sqlite3.connect(db)
    tags: dict[int, tuple[list[str], list[str]]] = {}
    for run_pk, tag, is_system in conn.execute("SELECT run_pk, tag, is_system FROM run_tags"):
        tags.setdefault(run_pk, ([], []))[1 if is_system else 0].append(tag)
    rows = conn.execute(
        "SELECT r.pk, f.name, r.run_id, r.created_at, r.user_name, r.parameters "
        "FROM runs r JOIN flows f ON f.pk = r.flow_pk ORDER BY r.pk"
    ).fetchall()
    conn.close()
    runs = [
        [flow, run_id, created, user, *tags.get(pk, ([], [])), json.loads(params or "{}")]
        for pk, flow, run_id, created, user, params in rows
    ]
    big = [run for run in runs if run[0] == BIG_FLOW]
    before_ms = sorted(run[2] for run in big)[len(big) // 2]  # the older half
    spec = {
        "runs": runs,
        "probe": {
            "pathspec": str(probe),
            "metadata": [
                [
                    e.field_name,
                    e.value.value,
                    e.type,
                    e.attempt,
                    int(e.created_at.timestamp() * 1000),
                ]
                for e in entries
            ],
        },
        "queries": {
            "flow": BIG_FLOW,
            "rare_tag": RARE_TAG,
            "member": big[len(big) // 2][1],
            "tag": COMPOUND_TAG,
            "user": COMPOUND_USER,
            "before_ms": before_ms,
        },
        "page": PAGE,
    }
    return History(home, probe, spec)


# -- measuring ---------------------------------------------------------------------------------


def measure_flowtrail(history: History, samples: int, warmup: int) -> Figures:
    """Time each query through the public client, reading ``local@<home>`` in every namespace."""
    metadata(f"local@{history.home}")
    namespace(None)
    q = history.spec["queries"]
    before = datetime.fromtimestamp(q["before_ms"] / 1000, UTC).isoformat()
    where = f"tag = '{q['tag']}' and user = '{q['user']}' and created_at < '{before}'"
    flow = Flow(q["flow"])
    member = q["member"]
    probe = str(history.probe)
    calls: dict[str, Callable[[], list[Any]]] = {
        "latest_run": lambda: [flow.latest_run],
        "runs_tag": lambda: list(flow.runs(q["rare_tag"], limit=PAGE)),
        "member": lambda: [member] if member in flow else [],
        "compound": lambda: list(flow.runs(where=where, limit=PAGE)),
        "task_metadata": lambda: list(Task(probe).metadata_dict),
    }
    figures = Figures("flowtrail", __version__)
    for name, call in calls.items():
        durations = time_calls(call, samples, warmup)
        figures.queries[name] = (durations, len(call()))
    return figures


def measure_peer(
    name: str, python: str, version: str, history: History, samples: int, args: argparse.Namespace
) -> Figures:
    """Run the peer's script in its venv on the same runs; its figures, or why it failed."""
    with tempfile.TemporaryDirectory(prefix=f"flowtrail-bench-{name}-") as folder:
        spec_file = Path(folder) / "spec.json"
        spec = {**history.spec, "samples": {"default": samples}, "warmup": args.peer_warmup}
        spec_file.write_text(json.dumps(spec))
        workdir = Path(folder) / "work"
        workdir.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("METAFLOW_", "MLFLOW_"))}
        env.update(USERNAME="bench", USER="bench", METAFLOW_DEFAULT_METADATA="local")
        try:
            done = subprocess.run(
                [python, str(BENCH / f"_peer_{name}.py"), str(spec_file), str(workdir)],
                capture_output=True,
                text=True,
                timeout=args.peer_timeout,
                env=env,
                cwd=folder,
            )
        except subprocess.TimeoutExpired:
            return Figures(name, version, unavailable=f"over --peer-timeout {args.peer_timeout} s")
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        return Figures(name, version, unavailable=f"exit {done.returncode}: {tail}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    figures = Figures(name, out["version"], out["build_s"])
    for query, result in out["queries"].items():
        figures.queries[query] = (result["ns"], result["items"])
    return figures


# -- the report --------------------------------------------------------------------------------


def _cell(figures: Figures | None, query: str) -> tuple[str, str, float | None]:
    if figures is None or figures.unavailable is not None or query not in figures.queries:
        return "-", "-", None
    durations, _ = figures.queries[query]
    p50 = percentile_ms(durations, 50)
    return f"{p50:.2f}", f"{percentile_ms(durations, 95):.2f}", p50


def _ratio(peer: float | None, ours: float | None) -> str:
    if peer is None or not ours:
        return "-"
    ratio = peer / ours
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def report_rows(results: Sequence[tuple[int, dict[str, Figures]]]) -> list[list[str]]:
    rows = []
    for size, by_system in results:
        for query, label in QUERIES:
            ours = by_system["flowtrail"]
            p50, p95, ours_ms = _cell(ours, query)
            mf50, mf95, mf_ms = _cell(by_system.get("metaflow"), query)
            ml50, ml95, ml_ms = _cell(by_system.get("mlflow"), query)
            items = str(ours.queries[query][1])
            ratios = (_ratio(mf_ms, ours_ms), _ratio(ml_ms, ours_ms))
            rows.append([f"{size:,}", label, items, p50, p95, mf50, mf95, ml50, ml95, *ratios])
    return rows


HEADERS = (
    *("runs", "query", "items", "flowtrail p50", "p95", "metaflow p50", "p95"),
    *("mlflow p50", "p95", "metaflow/flowtrail", "mlflow/flowtrail"),
)


def goal_lines(results: Sequence[tuple[int, dict[str, Figures]]]) -> list[str]:
    lines = []
    for size, by_system in results:
        ours = by_system["flowtrail"]
        if size == GOAL_P50_RUNS:
            worst = max(QUERIES, key=lambda q: percentile_ms(ours.queries[q[0]][0], 50))
            worst_ms = percentile_ms(ours.queries[worst[0]][0], 50)
            verdict = "met" if worst_ms < GOAL_P50_MS else "MISSED"
            lines.append(
                f"every query under {GOAL_P50_MS:g} ms p50 at {size:,} runs: slowest is "
                f"{worst[1]} at {worst_ms:.2f} ms -> {verdict}"
            )
        if size != GOAL_RATIO_RUNS:
            continue
        for peer in ("metaflow", "mlflow"):
            theirs = by_system.get(peer)
            if theirs is None or theirs.unavailable is not None:
                lines.append(
                    f">= {GOAL_RATIO:g}x faster than {peer} at {size:,} runs: not measured"
                )
                continue
            ratios = {
                label: percentile_ms(theirs.queries[q][0], 50)
                / percentile_ms(ours.queries[q][0], 50)
                for q, label in QUERIES
            }
            label, low = min(ratios.items(), key=lambda item: item[1])
            verdict = "met" if low >= GOAL_RATIO else "MISSED"
            lines.append(
                f">= {GOAL_RATIO:g}x faster than {peer} at {size:,} runs (p50): lowest ratio "
                f"{low:.2g}x ({label}) -> {verdict}"
            )
    return lines


def report(results: Sequence[tuple[int, dict[str, Figures]]], args: argparse.Namespace) -> None:
    print()
    print(
        f"p50/p95 ms of each call ({args.samples} samples after {args.warmup} warm-up calls for "
        f"flowtrail; for the peers, --peer-samples or fewer at large sizes, see below); "
        f"'items' is what flowtrail's call returned"
    )
    print(render_table(HEADERS, report_rows(results)))
    print()
    for size, by_system in results:
        for name, figures in by_system.items():
            if name == "flowtrail":
                continue
            if figures.unavailable is not None:
                print(f"{name} at {size:,} runs: unavailable: {figures.unavailable}")
                continue
            samples = len(next(iter(figures.queries.values()))[0])
            print(
                f"{name} {figures.version} at {size:,} runs: history written in "
                f"{figures.build_s:.1f} s; {samples} samples per query"
            )
    print()
    for line in goal_lines(results):
        print(line)


# -- command line ------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    parts = [part.strip().replace("_", "") for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"expected positive sizes like 1000,10000, got {text!r}")
    return [int(part) for part in parts]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/client.py",
        description=(
            "Time the client's queries (latest run, first page of runs with a tag, 'id' in flow, "
            "a compound where, one task's metadata) at each size, next to Metaflow's client and "
            "MLflow's search_runs on the same runs. Goals: every query under 10 ms p50 at "
            "100,000 runs; at least 20x faster than both peers at 10,000."
        ),
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="comma-separated numbers of runs (default 1000,10000,100000; --quick 300)",
    )
    parser.add_argument("--samples", type=int, default=None, help="timed calls (default 100)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 5)")
    parser.add_argument(
        "--peer-samples",
        type=int,
        default=20,
        help="timed calls per peer query, at most 200,000 / runs and at least 3 (default 20)",
    )
    parser.add_argument("--peer-warmup", type=int, default=1, help="untimed peer calls first")
    parser.add_argument("--peer-timeout", type=float, default=3_600, help="seconds per peer run")
    parser.add_argument(
        "--peers",
        default="metaflow,mlflow",
        help="comma-separated peers to measure: metaflow, mlflow (default both; '' for none)",
    )
    parser.add_argument(
        "--metaflow-venv", type=Path, default=ROOT / ".bench" / "venv-metaflow", help="its venv"
    )
    parser.add_argument(
        "--mlflow-venv", type=Path, default=ROOT / ".bench" / "venv-mlflow", help="its venv"
    )
    parser.add_argument("--install-timeout", type=float, default=1_800, help="seconds for pip")
    parser.add_argument("--seed", type=int, default=1, help="seed of the history (default 1)")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, few samples, no peers: does it run?"
    )
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = [300] if args.quick else [1_000, 10_000, 100_000]
    if args.samples is None:
        args.samples = 5 if args.quick else 100
    if args.warmup is None:
        args.warmup = 1 if args.quick else 5
    args.peers = [] if args.quick else [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = sorted(set(args.peers) - {name for name, *_ in PEERS})
    if unknown:
        parser.error(f"unknown peers {unknown}; known: metaflow, mlflow")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    progress = Progress()
    print("flowtrail client bench")
    for line in machine_info(None):
        print(line)
    print(f"flowtrail:  {__version__}")
    pythons: dict[str, tuple[str, str]] = {}
    unavailable: dict[str, str] = {}
    for name, requirement, module, option in PEERS:
        if name not in args.peers:
            continue
        try:
            pythons[name] = provide_venv(
                getattr(args, option), requirement, module, progress, args.install_timeout
            )
            print(f"{name}:{' ' * (11 - len(name))}{pythons[name][1]} ({pythons[name][0]})")
        except PeerUnavailable as exc:
            unavailable[name] = str(exc)
            print(f"{name}: unavailable: {exc}")
    sys.stdout.flush()
    results: list[tuple[int, dict[str, Figures]]] = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="flowtrail-bench-client-") as folder:
            progress(f"{size:,} runs: filling the history")
            history = build_history(Path(folder), size, args.seed, progress)
            progress(f"{size:,} runs: flowtrail")
            by_system = {"flowtrail": measure_flowtrail(history, args.samples, args.warmup)}
            peer_samples = max(3, min(args.peer_samples, 200_000 // size))
            for name in args.peers:
                if name in unavailable:
                    by_system[name] = Figures(name, unavailable=unavailable[name])
                    continue
                progress(f"{size:,} runs: {name} ({peer_samples} samples per query)")
                python, version = pythons[name]
                by_system[name] = measure_peer(name, python, version, history, peer_samples, args)
            results.append((size, by_system))
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
