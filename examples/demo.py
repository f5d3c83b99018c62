"""The flowtrail demo (``bin/demo``): run a small ``TrainFlow`` three times and read it back.

Until the runtime exists, the steps run in process and are recorded as the scheduler will, in
the stores of the resolved settings (``./.flowtrail`` by default). Each demo adds three runs.
"""

from __future__ import annotations

import collections
import contextlib
import getpass
import io
import os
import platform
import random
import socket
import sys
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Column, Table
from rich.text import Text
from rich.tree import Tree

import flowtrail
from flowtrail import model
from flowtrail.blobs import BlobStore, deserialize, open_blob_store, serialize
from flowtrail.config import resolve_settings
from flowtrail.errors import FlowtrailError
from flowtrail.store import MetadataStore, open_store

FLOW = "TrainFlow"
RUNS = [  # (minutes ago, alphas, epochs, user tags): alpha 10.0 diverges, so run 2 fails
    (42, [0.01, 0.1, 1.0], 5, []),
    (24, [0.1, 1.0, 10.0], 20, []),
    (6, [0.03, 0.1, 0.3], 10, ["team:ml", "prod"]),
]
GRAPH = {"start": "foreach train", "train": "linear join", "join": "join end", "end": "end"}
STYLE = {"succeeded": "green", "failed": "bold red", "running": "yellow"}
Output = tuple[dict[str, Any], dict[str, Any]]  # what a step returns: artifacts, user metadata


class Recorder:
    """Runs TrainFlow's steps in process and records them the way the scheduler will."""

    def __init__(self, store: MetadataStore, blobs: BlobStore) -> None:
        self.store, self.blobs = store, blobs

    def task(self, step: str, body: Callable[[], Output], **fields: Any) -> tuple[Any, Any]:
        """Run ``body`` as a task (retried once) and record it; return it and its artifacts."""
        step_path, self.tasks = self.run.child(step), self.tasks + 1
        task = step_path.child(str(self.tasks))
        items: dict[str, list[Any]] = collections.defaultdict(list)  # Batch fields -> records
        if step not in self.steps:
            self.steps.add(step)
            kind, *after = GRAPH[step].split()  # the step's kind, then where it leads
            items["steps"].append(model.NewStep(step_path, kind, tuple(after), self.clock))
        items["tasks"].append(model.NewTask(task, created_at=self.clock, **fields))
        host, pace = socket.gethostname(), random.Random(str(task))
        for n in range(2):  # a failed attempt is retried once
            started, self.clock = self.clock, self.clock + timedelta(seconds=pace.uniform(1, 9))
            stdout, error, artifacts, metadata = io.StringIO(), None, None, {}
            try:
                with contextlib.redirect_stdout(stdout):
                    artifacts, metadata = body()
            except Exception as exc:
                error = model.ExceptionInfo(type(exc).__name__, str(exc), traceback.format_exc())
            status = model.Status.FAILED if error else model.Status.SUCCEEDED
            items["attempts"].append(model.NewAttempt(task, n, host, os.getpid(), started))
            items["attempt_ends"].append(model.AttemptEnd(task, n, status, error, self.clock))
            system = [("attempt", n, "attempt"), ("host", host, "host")]
            for key, value, kind in system + [(k, v, "user") for k, v in metadata.items()]:
                items["metadata"].append(model.NewMetadata(task, key, value, kind, n, started))
            logs = {"stdout": stdout.getvalue(), "stderr": error.traceback if error else ""}
            for stream, text in logs.items():
                for seq, line in enumerate(text.splitlines()):
                    items["log_lines"].append(model.NewLogLine(task, n, stream, seq, line, started))
            if error is None:
                break
        for name, value in (artifacts or {}).items():
            blob = serialize(value)  # the bytes go to the blob store, their index to the store
            ref = self.blobs.put(blob.data)
            index = (ref.sha, ref.size, blob.python_type, blob.encoding, blob.scalar)
            items["artifacts"].append(model.NewArtifact(task.child(name), n, *index, self.clock))
        items["task_statuses"].append(model.TaskStatusChange(task, status, self.clock))
        batch = {name: tuple(values) for name, values in items.items()}
        self.store.write_batch(model.Batch(uuid.uuid4().hex, self.run, heartbeat=True, **batch))
        return task, artifacts

    def record(self, minutes_ago: int, alphas: list[float], epochs: int, tags: list[str]) -> str:
        """Run and record TrainFlow: start, a foreach over ``alphas`` (train), join, end."""
        user, created = getpass.getuser(), model.utc_now() - timedelta(minutes=minutes_ago)
        last = self.store.find_runs(model.RunFilter(FLOW), model.PageRequest(1)).items
        if last and last[0].finished_at:  # the demo ran minutes ago: keep the runs in order
            created = max(created, last[0].finished_at + timedelta(seconds=30))
        system_tags = {
            f"user:{user}",
            "runtime:local",
            f"python_version:{platform.python_version()}",
            f"flowtrail_version:{flowtrail.__version__}",
            f"date:{created:%Y-%m-%d}",
        }
        new = model.NewRun(
            FLOW,
            user=user,
            parameters={"alphas": alphas, "epochs": epochs},
            tags=frozenset(tags),
            system_tags=frozenset(system_tags),
            flow_metadata={"owner": "ml-team"},
            created_at=created,
        )
        self.run, self.clock = self.store.create_run(new).pathspec, created
        self.steps, self.tasks = set(), 0

        def start() -> Output:
            print(f"Loaded iris-v3 (150 rows); fanning out over alphas {alphas}")
            return {"alphas": alphas, "epochs": epochs, "dataset": "iris-v3"}, {}

        def train(alpha: float) -> Output:
            print(f"Training with alpha={alpha} for {epochs} epochs")
            if alpha >= 10:  # a made-up training: best near 0.1, diverging from 10
                raise FloatingPointError(f"loss diverged to nan at epoch 3 (alpha={alpha})")
            loss = round(0.05 + abs(alpha - 0.1) * 0.6 + 1.0 / epochs, 4)
            print(f"epoch {epochs}: loss={loss}")
            weights = {"alpha": alpha, "weights": [round(alpha * k / 7, 3) for k in range(8)]}
            metrics = {"accuracy": round(1 - loss, 4)}  # user metadata: searchable later
            return {"alpha": alpha, "loss": loss, "model": weights}, metrics

        def join(scores: dict[float, float]) -> Output:
            best = min(scores, key=scores.__getitem__)
            print(f"Best alpha {best} with loss {scores[best]}")
            return {"best_alpha": best, "scores": scores}, {}

        first, _ = self.task("start", start)
        trained, scores = [], {}
        for i, alpha in enumerate(alphas):
            frame = (model.ForeachFrame("start", i, len(alphas)),)
            task, out = self.task(
                "train", partial(train, alpha), parent_tasks=(first,), foreach_stack=frame
            )
            if out is None:  # the task failed on its last attempt, and so does the run
                self.store.set_run_status(self.run, model.Status.FAILED, at=self.clock)
                return str(self.run)
            trained.append(task)
            scores[alpha] = out["loss"]
        joined, out = self.task("join", partial(join, scores), parent_tasks=tuple(trained))
        report = {"report": model.MetadataValue.url(f"https://dashboards.example.com/{self.run}")}
        summary = {"summary": f"best alpha {out['best_alpha']}"} if out else {}
        self.task("end", lambda: (summary, report), parent_tasks=(joined,))
        self.store.set_run_status(self.run, model.Status.SUCCEEDED, at=self.clock)
        return str(self.run)


def since(start: datetime, end: datetime | None) -> str:
    """A duration as ``1m 04s`` or ``3.8s``."""
    seconds = ((end or start) - start).total_seconds()
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m {int(seconds % 60):02d}s"


def styled(status: model.Status) -> str:
    """The status as coloured markup."""
    return f"[{STYLE.get(status, 'magenta')}]{status}[/]"


def value_of(art: model.ArtifactRecord, blobs: BlobStore) -> str:
    """The artifact's value: its indexed scalar, or its bytes read back and deserialised."""
    text = repr(deserialize(blobs.get(art.sha), art.encoding) if art.value is None else art.value)
    return escape(text if len(text) <= 36 else text[:33] + "...")


def runs_table(store: MetadataStore) -> Table:
    """The newest runs of TrainFlow: id, status, created, duration, user and system tags."""
    table = Table("run", "status", "created", "duration", Column("tags", overflow="fold"))
    for run in store.find_runs(model.RunFilter(FLOW), model.PageRequest(6)):
        tags = [Text(tag, "bold cyan") for tag in sorted(run.user_tags)]
        tags += [Text(tag, "dim") for tag in sorted(run.system_tags)]
        created = f"{run.created_at.astimezone():%Y-%m-%d %H:%M:%S}"
        took = since(run.created_at, run.finished_at)
        table.add_row(str(run.pathspec), styled(run.status), created, took, Text(" ").join(tags))
    return table


def run_tree(store: MetadataStore, blobs: BlobStore, run: model.RunRecord) -> Tree:
    """The run's steps, their tasks, and each task's artifacts and metadata."""
    params = escape(str(dict(run.parameters)))
    tree = Tree(f"[bold]{run.pathspec}[/] {styled(run.status)} by {run.user}, {params}")
    for step in reversed(store.find_steps(run.pathspec).items):
        after = " → " + ", ".join(step.next_steps) if step.next_steps else ""
        branch = tree.add(f"[bold]{step.name}[/] ({step.kind}{after})")
        for task in store.find_tasks(step.pathspec):
            index = "" if task.foreach_index is None else f" \\[{task.foreach_index}]"
            took = since(task.created_at, task.finished_at)
            node = branch.add(f"task {task.task_id}{index} {styled(task.status)} {took}")
            for art in store.find_artifacts(task.pathspec):
                about = f"{art.python_type}, {art.encoding}, {art.size} B"
                node.add(f"[cyan]{art.name}[/] = {value_of(art, blobs)}  [dim]{about}[/]")
            meta = store.find_metadata(task.pathspec)
            text = ", ".join(f"{m.field_name}={m.value.to_text()} ({m.type})" for m in meta)
            node.add(f"[dim]metadata: {escape(text)}[/]")
    return tree


def show_failure(console: Console, say: Callable[..., None], store: MetadataStore) -> None:
    """The latest failed run's failed task: its attempts, their exceptions, the last stderr."""
    failed = model.RunFilter.of(FLOW, statuses=["failed"])
    run = store.find_runs(failed, model.PageRequest(1)).items[0]
    for task in (t for t in store.find_tasks(run.pathspec) if t.status == "failed"):
        say(f"Failed task [bold]{task.pathspec}[/]:")
        for attempt in store.find_attempts(task.pathspec):
            exc, took = attempt.exception, since(attempt.started_at, attempt.finished_at)
            error = "" if exc is None else escape(f": {exc.type}: {exc.message}")
            say(f"  attempt {attempt.number} {styled(attempt.status)} in {took}{error}")
        lines = store.read_log_lines(task.pathspec, attempt=attempt.number, stream="stderr")
        text = Text("\n".join(line.text for line in lines))
        console.print(Panel(text, title=f"stderr of attempt {attempt.number}", expand=False))


def main() -> int:
    """Record three runs of TrainFlow, then print its history read back from the stores."""
    console = Console(highlight=False)
    say = partial(console.print, soft_wrap=True)  # plain lines are never wrapped
    try:
        cfg = resolve_settings()  # FLOWTRAIL_* variables, the profile file, or ./.flowtrail
        if cfg.metadata == "local":
            cfg.ensure_home()
        with open_store(cfg.metadata_url) as store, open_blob_store(cfg.blob_url) as blobs:
            say(f"Using metadata provider: {escape(cfg.describe_metadata())}")
            recorded = [Recorder(store, blobs).record(*spec) for spec in RUNS]
            say(f"Recorded {', '.join(recorded)} (blobs in {escape(blobs.url)})")
            console.print(runs_table(store))
            prod = store.find_runs(model.RunFilter.of(FLOW, tags=["prod"]), model.PageRequest(5))
            say(f"Runs tagged prod: {', '.join(str(r.pathspec) for r in prod)}\n")
            latest = store.find_runs(model.RunFilter(FLOW), model.PageRequest(1)).items[0]
            console.print(run_tree(store, blobs, latest), "")
            show_failure(console, say, store)
    except FlowtrailError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
