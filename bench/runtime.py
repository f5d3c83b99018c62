"""Runtime benchmark: what running a flow costs on flowtrail's embedded default (SQLite and a
local folder), next to the same flows under Metaflow (local metadata and datastore).

Measured, each as ``python flow.py run`` in a subprocess, wall time from launch to exit
(interpreter start included), median of N runs:

* a linear flow of 3 steps (start -> middle -> end);
* foreach fan-outs of 100 and 1,000 tasks (start -> foreach each -> join -> end), each task
  storing one integer and the join summing them.

Two per-task figures are printed for each fan-out:

* amortised = (wall time - an empty interpreter's start, ``python -c pass``) / tasks, where a
  fan-out of N counts N + 3 tasks (start, join and end): start-up (imports, opening the
  history, starting workers) is spread over the tasks, so it shrinks as N grows;
* marginal = (wall time of the fan-out of N - wall time of the linear flow) / N: what one
  more task costs once the run is going (the linear flow runs the same start, join-less
  end and start-up, so the difference is the N tasks and the join).

The goal (per-task overhead 50x lower than Metaflow's) is judged on the marginal figure:
what a task costs. The amortised one is printed beside it, not judged: at 100 tasks it is
mostly the run's fixed start-up, which the 3-step linear flow's goal (under 0.5 s,
interpreter start included) judges on its own. Both systems run the same
flow source (only the import differs) with ``--max-workers 2``, each flow in its own
temporary folder (so each records into a history of its own), after one untimed run of the
linear flow there that creates the history (its time is reported as the first run).

Metaflow is installed by the bench itself, into its own virtual environment
(``.bench/venv-metaflow``, pinned to the version the figures in bench/README.md were measured
with); if it cannot be installed or run, the report says why and flowtrail is measured alone.

Goals (the issue): flowtrail's per-task overhead at least 50x lower than Metaflow's; a
1,000-task foreach in under 5 s; a 3-step linear run in under 0.5 s, interpreter start
included.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    PeerUnavailable,
    Progress,
    machine_info,
    provide_venv,
    ratio_text,
    render_table,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_METAFLOW_VENV = ROOT / ".bench" / "venv-metaflow"
DEFAULT_METAFLOW_REQUIREMENT = "metaflow==2.19.39"
FLOWTRAIL = "flowtrail"
METAFLOW = "metaflow"
GOAL_OVERHEAD_RATIO = 50.0
GOAL_FOREACH_TASKS = 1_000
GOAL_FOREACH_S = 5.0
GOAL_LINEAR_S = 0.5
LARGE_FANOUT = 1_000  # Metaflow fan-outs this wide run --metaflow-large-repeats times
HEADERS = (
    *("flow", "tasks", "system", "runs", "median s", "min s", "max s"),
    *("amortised ms/task", "marginal ms/task", "metaflow/flowtrail"),
)

# -- the flows -------------------------------------------------------------------------------

LINEAR_SOURCE = '''\
from {package} import FlowSpec, step


class LinearFlow(FlowSpec):
    """Three steps in a row, doing nothing."""

    @step
    def start(self):
        self.next(self.middle)

    @step
    def middle(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LinearFlow()
'''

FANOUT_SOURCE = '''\
from {package} import FlowSpec, Parameter, step


class FanoutFlow(FlowSpec):
    """A foreach of --width trivial tasks, each storing one integer, and a join."""

    width = Parameter("width", default=10, type=int)

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.each, foreach="items")

    @step
    def each(self):
        self.square = self.input * self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.square for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    FanoutFlow()
'''


@dataclass(frozen=True)
class Case:
    """One flow to time: the linear flow (``width`` None) or a fan-out of ``width`` tasks."""

    width: int | None = None

    @property
    def label(self) -> str:
        return "linear (3 steps)" if self.width is None else f"foreach {self.width:,}"

    @property
    def key(self) -> str:
        return "linear" if self.width is None else f"foreach-{self.width}"

    @property
    def tasks(self) -> int:
        return 3 if self.width is None else self.width + 3

    @property
    def file(self) -> str:
        return "linear.py" if self.width is None else "fanout.py"

    def source(self, package: str) -> str:
        return (LINEAR_SOURCE if self.width is None else FANOUT_SOURCE).format(package=package)


# -- the systems ------------------------------------------------------------------------------


def _clean_env(drop_prefixes: Sequence[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(drop_prefixes))}
    # Byte-code is cached as on an ordinary install: with PYTHONDONTWRITEBYTECODE (set on
    # some CI machines) every run of an edited source tree would compile it again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@dataclass(frozen=True)
class System:
    """How to run a flow file with one system: its interpreter, options and environment."""

    name: str
    python: str
    version: str
    max_workers: int

    def env(self, folder: Path) -> dict[str, str]:
        """The environment of a run in ``folder``: no settings of the user's leak in."""
        if self.name == FLOWTRAIL:
            env = _clean_env(["FLOWTRAIL_"])
            env["XDG_CONFIG_HOME"] = str(folder / ".config")  # no profile file is read
            return env
        env = _clean_env(["METAFLOW_"])
        env["USERNAME"] = "flowtrail-bench"  # Metaflow refuses to run without a user
        env["METAFLOW_HOME"] = str(folder / ".metaflowconfig")  # no config file is read
        env["METAFLOW_DEFAULT_METADATA"] = "local"
        env["METAFLOW_DEFAULT_DATASTORE"] = "local"
        return env

    def command(self, case: Case) -> list[str]:
        """``python <flow>.py run`` with the run's options, quiet."""
        workers = ["--max-workers", str(self.max_workers)]
        width = [] if case.width is None else ["--width", str(case.width)]
        if self.name == FLOWTRAIL:
            return [self.python, case.file, "run", "--quiet", *workers, *width]
        # Metaflow refuses a foreach wider than --max-num-splits (default 100).
        splits = [] if case.width is None else ["--max-num-splits", str(max(2_000, case.width))]
        return [self.python, case.file, "--quiet", "--no-pylint", "run", *workers, *splits, *width]


class Unavailable(Exception):
    """Metaflow cannot be installed or started here (the reason is the message)."""


def _run_quietly(command: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )


def _tail(text: str, lines: int = 6, width: int = 300) -> str:
    """The last lines of a failed command's output on one line: its ``ERROR`` lines if it
    printed any (pip's warnings say nothing of why it failed), each cut to ``width``."""
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in kept if line.startswith("ERROR")]
    cut = [line if len(line) <= width else line[: width - 3] + "..." for line in errors or kept]
    return " | ".join(cut[-lines:])


def _metaflow_version(python: str) -> str | None:
    """The version of Metaflow ``python`` imports, or ``None`` if it has none."""
    probe = "import metaflow, sys; sys.stdout.write(metaflow.__version__)"
    try:
        result = _run_quietly([python, "-c", probe], timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def provide_metaflow(args: argparse.Namespace, progress: Callable[[str], None]) -> tuple[str, str]:
    """The interpreter that runs Metaflow and its version: ``--metaflow-python`` as given, else
    the bench's own virtual environment, created and filled with pip when needed.

    Raises:
        Unavailable: the interpreter is missing, the install failed, or Metaflow won't import.
    """
    if args.metaflow_python:
        python = args.metaflow_python
        if not Path(python).exists():
            raise Unavailable(f"--metaflow-python {python} does not exist")
        version = _metaflow_version(python)
        if version is None:
            raise Unavailable(f"{python} cannot import metaflow")
        return python, version
    try:
        return provide_venv(
            args.metaflow_venv,
            args.metaflow_requirement,
            "metaflow",
            progress,
            args.install_timeout,
        )
    except PeerUnavailable as exc:
        raise Unavailable(str(exc)) from None


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Measurement:
    """The runs of one flow with one system."""

    system: str
    case: Case
    first_run_s: float | None = None  # the untimed run that created the folder's history
    samples_s: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def median_s(self) -> float:
        return statistics.median(self.samples_s)

    def overhead_ms(self, baseline_s: float) -> float:
        """Per-task overhead: (median wall time - interpreter start) / tasks, in ms."""
        return (self.median_s - baseline_s) / self.case.tasks * 1_000


def timed_run(command: Sequence[str], cwd: Path, env: dict[str, str], timeout: float) -> float:
    """Run ``command`` to its end; its wall time in seconds.

    Raises:
        RuntimeError: it exited non-zero or ran past ``timeout`` (then it and every process it
            started are killed).
    """
    start = time.perf_counter()
    # Its own session, so that a timeout can end the workers it started too.
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RuntimeError(f"timed out after {timeout:g} s") from None
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"exit {process.returncode}: {_tail(err or out)}")
    return elapsed


def baseline_s(system: System, samples: int) -> float:
    """The median wall time of an empty interpreter (``python -c pass``) of ``system``."""
    with tempfile.TemporaryDirectory(prefix="flowtrail-bench-") as folder:
        env = system.env(Path(folder))
        command = [system.python, "-c", "pass"]
        timed_run(command, Path(folder), env, 60)  # warm the file cache
        return statistics.median(timed_run(command, Path(folder), env, 60) for _ in range(samples))


def measure(
    system: System, case: Case, repeats: int, timeout: float, progress: Callable[[str], None]
) -> Measurement:
    """Time ``repeats`` runs of ``case`` in a fresh folder, after an untimed run of the linear
    flow there (it creates the history, as a project's first run would)."""
    result = Measurement(system.name, case)
    with tempfile.TemporaryDirectory(prefix=f"flowtrail-bench-{system.name}-") as name:
        folder = Path(name)
        env = system.env(folder)
        first = Case()
        for flow in dict.fromkeys((first, case)):
            (folder / flow.file).write_text(flow.source(system.name))
        try:
            result.first_run_s = timed_run(system.command(first), folder, env, timeout)
            progress(f"{system.name}, {case.label}: first run {result.first_run_s:.2f} s")
            for i in range(repeats):
                result.samples_s.append(timed_run(system.command(case), folder, env, timeout))
                seconds = result.samples_s[-1]
                progress(f"{system.name}, {case.label}: run {i + 1}/{repeats} {seconds:.2f} s")
        except RuntimeError as exc:
            result.error = str(exc)
            progress(f"{system.name}, {case.label}: FAILED: {exc}")
    return result


# -- report ------------------------------------------------------------------------------------


def _times(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:,.0f}x"


@dataclass
class Report:
    """Everything measured, and what it says about the goals."""

    systems: dict[str, System]
    baselines: dict[str, float]
    measurements: list[Measurement]
    metaflow_note: str | None
    max_workers: int

    def find(self, system: str, case: Case) -> Measurement | None:
        found = [m for m in self.measurements if m.system == system and m.case == case]
        return found[0] if found and found[0].samples_s else None

    def marginal_ms(self, m: Measurement) -> float | None:
        """What one more task costs: (median of the fan-out - median of the linear flow) / its
        width, in ms; None for the linear flow or when that system's linear runs failed."""
        linear = self.find(m.system, Case())
        if m.case.width is None or linear is None or not m.samples_s:
            return None
        return (m.median_s - linear.median_s) / m.case.width * 1_000

    def ratios(self, case: Case) -> tuple[float, float, float | None] | None:
        """Metaflow / flowtrail: of the median wall time, of the amortised per-task overhead
        and of the marginal per-task cost (None for the linear flow)."""
        ours, theirs = self.find(FLOWTRAIL, case), self.find(METAFLOW, case)
        if ours is None or theirs is None:
            return None
        wall = theirs.median_s / ours.median_s
        overhead = theirs.overhead_ms(self.baselines[METAFLOW]) / max(
            ours.overhead_ms(self.baselines[FLOWTRAIL]), 1e-9
        )
        ours_marginal, theirs_marginal = self.marginal_ms(ours), self.marginal_ms(theirs)
        marginal = (
            theirs_marginal / max(ours_marginal, 1e-9)
            if ours_marginal is not None and theirs_marginal is not None
            else None
        )
        return wall, overhead, marginal

    def rows(self) -> list[list[str]]:
        rows = []
        for m in self.measurements:
            cells = [m.case.label, f"{m.case.tasks:,}", m.system]
            if not m.samples_s:
                rows.append([*cells, "0", "failed", "", "", "", "", m.error or ""])
                continue
            cells += [str(len(m.samples_s)), f"{m.median_s:.2f}"]
            cells += [f"{min(m.samples_s):.2f}", f"{max(m.samples_s):.2f}"]
            cells.append(f"{m.overhead_ms(self.baselines[m.system]):.2f}")
            marginal = self.marginal_ms(m)
            cells.append("" if marginal is None else f"{marginal:.2f}")
            ratios = self.ratios(m.case) if m.system == METAFLOW else None
            text = ""
            if ratios:
                text = f"{_times(ratios[0])} wall, {_times(ratios[1])} amortised"
                if ratios[2] is not None:
                    text += f", {_times(ratios[2])} marginal"
            cells.append(text)
            rows.append(cells)
        return rows

    def goal_lines(self) -> list[str]:
        lines = []
        # The per-task goal is about fan-outs; the linear flow has a goal of its own below.
        cases = [c for c in dict.fromkeys(m.case for m in self.measurements) if c.width]
        goal = f"per-task overhead >= {GOAL_OVERHEAD_RATIO:g}x lower than Metaflow's"
        if METAFLOW not in self.systems:
            lines.append(f"{goal}: not measured (no Metaflow)")
            cases = []
        for case in cases:
            ours, theirs = self.find(FLOWTRAIL, case), self.find(METAFLOW, case)
            if ours is None or theirs is None:
                lines.append(f"{goal}, {case.label}: not measured (a run failed)")
                continue
            figures = [
                (
                    "amortised",
                    ours.overhead_ms(self.baselines[FLOWTRAIL]),
                    theirs.overhead_ms(self.baselines[METAFLOW]),
                ),
                ("marginal", self.marginal_ms(ours), self.marginal_ms(theirs)),
            ]
            for kind, ours_ms, theirs_ms in figures:
                if ours_ms is None or theirs_ms is None:
                    continue
                ratio = theirs_ms / max(ours_ms, 1e-9)
                # The goal is judged on what one more task costs (marginal); the amortised
                # figure also spreads the run's fixed start-up over the tasks, which the
                # linear flow's goal below judges on its own.
                if kind == "marginal":
                    verdict = "met" if ratio >= GOAL_OVERHEAD_RATIO else "MISSED"
                else:
                    verdict = "not judged: start-up included"
                lines.append(
                    f"{goal}, {case.label}, {kind}: {ours_ms:.2f} ms vs {theirs_ms:.1f} ms "
                    f"= {_times(ratio)} lower -> {verdict}"
                )
        for case, goal, what in (
            (Case(GOAL_FOREACH_TASKS), GOAL_FOREACH_S, f"{GOAL_FOREACH_TASKS:,}-task foreach"),
            (Case(), GOAL_LINEAR_S, "3-step linear run (interpreter start included)"),
        ):
            m = self.find(FLOWTRAIL, case)
            if m is None:
                measured = any(m.case == case for m in self.measurements)
                why = "its runs failed" if measured else "not in --sizes"
                lines.append(f"{what} in under {goal:g} s: not measured ({why})")
                continue
            met, ratio = ratio_text(m.median_s, goal, higher_is_better=False)
            verdict = "met" if met else "MISSED"
            lines.append(f"{what} in under {goal:g} s: {m.median_s:.2f} s = {ratio} -> {verdict}")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "max_workers": self.max_workers,
            "systems": {
                n: {"python": s.python, "version": s.version} for n, s in self.systems.items()
            },
            "metaflow_note": self.metaflow_note,
            "baseline_s": self.baselines,
            "measurements": [
                {
                    "system": m.system,
                    "flow": m.case.key,
                    "tasks": m.case.tasks,
                    "first_run_s": m.first_run_s,
                    "samples_s": m.samples_s,
                    "median_s": m.median_s if m.samples_s else None,
                    "per_task_overhead_ms": (
                        m.overhead_ms(self.baselines[m.system]) if m.samples_s else None
                    ),
                    "marginal_per_task_ms": self.marginal_ms(m),
                    "error": m.error,
                }
                for m in self.measurements
            ],
            "ratios_metaflow_over_flowtrail": {
                case.key: {"wall": r[0], "per_task_overhead": r[1], "marginal_per_task": r[2]}
                for case in dict.fromkeys(m.case for m in self.measurements)
                if (r := self.ratios(case)) is not None
            },
            "goals": self.goal_lines(),
        }

    def print(self) -> None:
        print()
        print(
            f"Wall time of `python flow.py run` in a subprocess, interpreter start included, "
            f"--max-workers {self.max_workers} for both; amortised ms/task = (median - empty "
            f"interpreter) / tasks; marginal ms/task = (median - median of the linear flow) / "
            f"width"
        )
        print(render_table(HEADERS, self.rows()))
        print()
        baselines = ", ".join(f"{n} {s * 1_000:.0f} ms" for n, s in self.baselines.items())
        print(f"empty interpreter (python -c pass, median): {baselines}")
        firsts = [
            f"{m.system} {m.first_run_s:.2f} s"
            for m in self.measurements
            if m.case == Case() and m.first_run_s is not None
        ]
        if firsts:
            print(f"first run of the linear flow in an empty folder: {', '.join(firsts)}")
        if self.metaflow_note:
            print(f"metaflow: {self.metaflow_note}")
        print()
        print(f"Goals (flowtrail; both systems with --max-workers {self.max_workers}):")
        for line in self.goal_lines():
            print(f"  {line}")


# -- command line ------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    parts = [part.strip().replace("_", "") for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"expected positive widths like 100,1000, got {text!r}")
    return [int(part) for part in parts]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options; ``--quick`` fills in small values for those not given."""
    parser = argparse.ArgumentParser(
        prog="bench/runtime.py",
        description=(
            "Time `python flow.py run` end to end (interpreter start included) on flowtrail's "
            "embedded default and on Metaflow (local), side by side: a 3-step linear flow and "
            "foreach fan-outs of trivial tasks. Goals: per-task overhead >= 50x lower than "
            "Metaflow's; a 1,000-task foreach under 5 s; a linear run under 0.5 s. Progress "
            "goes to stderr, the report to stdout; exits 0 whatever the figures (1 if a "
            "flowtrail run fails)."
        ),
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="comma-separated foreach widths (default 100,1000; with --quick 5)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed runs per flow and system; the median is reported (default 3; --quick 1)",
    )
    parser.add_argument(
        "--metaflow-large-repeats",
        type=int,
        default=1,
        help=f"timed runs of Metaflow fan-outs of {LARGE_FANOUT:,} tasks or more, which take "
        "minutes each (default 1)",
    )
    parser.add_argument(
        "--max-workers",
        type=int,
        default=2,
        help="--max-workers given to both systems (default 2, this machine's cores)",
    )
    parser.add_argument(
        "--baseline-samples",
        type=int,
        default=None,
        help="runs of `python -c pass` whose median is the interpreter start (default 10; "
        "--quick 3)",
    )
    parser.add_argument(
        "--skip-metaflow", action="store_true", help="measure flowtrail alone (no install)"
    )
    parser.add_argument(
        "--metaflow-venv",
        type=Path,
        default=DEFAULT_METAFLOW_VENV,
        help="virtual environment the bench creates and installs Metaflow into "
        f"(default {DEFAULT_METAFLOW_VENV.relative_to(ROOT)}, ignored by git)",
    )
    parser.add_argument(
        "--metaflow-requirement",
        default=DEFAULT_METAFLOW_REQUIREMENT,
        help=f"what pip installs there (default {DEFAULT_METAFLOW_REQUIREMENT}; 'metaflow' for "
        "the newest)",
    )
    parser.add_argument(
        "--metaflow-python",
        default=None,
        help="an interpreter that already has Metaflow, used as it is (no venv, no install)",
    )
    parser.add_argument(
        "--install-timeout",
        type=float,
        default=900,
        help="seconds allowed for creating the venv and for pip (default 900)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=3_600,
        help="seconds one run may take before it is killed and reported failed (default 3600)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a foreach of 5, one run each: does it run? (the figures mean nothing)",
    )
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = [5] if args.quick else [100, 1_000]
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.baseline_samples is None:
        args.baseline_samples = 3 if args.quick else 10
    for name in ("repeats", "metaflow_large_repeats", "max_workers", "baseline_samples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _flowtrail_version() -> str:
    version = importlib.metadata.version("flowtrail")
    try:
        head = _run_quietly(["git", "rev-parse", "--short", "HEAD"], timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        head = ""
    return f"{version} (commit {head})" if head else version


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; 0 unless a flowtrail run failed (or it crashes)."""
    args = parse_args(argv)
    progress = Progress()
    systems = {FLOWTRAIL: System(FLOWTRAIL, sys.executable, _flowtrail_version(), args.max_workers)}
    note: str | None = None
    if args.skip_metaflow:
        note = "skipped (--skip-metaflow)"
    else:
        try:
            python, version = provide_metaflow(args, progress)
            systems[METAFLOW] = System(METAFLOW, python, version, args.max_workers)
        except Unavailable as exc:
            note = f"unavailable, measured flowtrail alone: {exc}"
            progress(f"metaflow: {note}")
    print("flowtrail runtime bench")
    for line in machine_info(None):
        print(line)
    for system in systems.values():
        print(f"{system.name + ':':<12}{system.version} ({system.python})")
    sys.stdout.flush()
    baselines = {}
    for system in systems.values():
        baselines[system.name] = baseline_s(system, args.baseline_samples)
        progress(f"{system.name}: empty interpreter {baselines[system.name] * 1_000:.0f} ms")
    measurements = []
    for case in [Case(), *(Case(width) for width in args.sizes)]:
        for system in systems.values():
            large = system.name == METAFLOW and (case.width or 0) >= LARGE_FANOUT
            repeats = args.metaflow_large_repeats if large else args.repeats
            measurements.append(measure(system, case, repeats, args.timeout, progress))
    report = Report(systems, baselines, measurements, note, args.max_workers)
    report.print()
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n")
        progress(f"figures written to {args.json}")
    failed = [m for m in measurements if m.system == FLOWTRAIL and m.error]
    for m in failed:
        print(f"flowtrail run of {m.case.label} FAILED: {m.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
