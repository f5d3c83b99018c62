"""The flowtrail demo (run by ``bin/demo``): run a real flow on the embedded default, then read
its history back through the client API.

It runs ``examples/train_flow.py`` (a foreach over four learning rates, one flaky attempt that
is retried, and a join that keeps the best) as ``python train_flow.py run`` would, recording
into ``./.flowtrail``; then it finds the run again with ``Flow('TrainFlow').latest_run`` and
prints its runs, its steps and tasks, the best model, a retried attempt's exception and a
task's logs and metadata.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from flowtrail.client import Flow, Task, get_metadata, namespace

FLOW_FILE = Path(__file__).resolve().parent / "train_flow.py"


def main() -> int:
    console = Console()
    console.print(f"Using metadata provider: {get_metadata()}")
    console.rule("python examples/train_flow.py run --tag demo")
    done = subprocess.run(
        [sys.executable, str(FLOW_FILE), "run", "--tag", "demo", *sys.argv[1:]], check=False
    )
    if done.returncode != 0:
        console.print(f"[red]the run failed (exit code {done.returncode})[/]")
        return done.returncode

    console.rule("and its history, read back through the client")
    namespace(None)  # every user's runs
    flow = Flow("TrainFlow")
    run = flow.latest_run
    assert run is not None
    table = Table(title="Recent runs of TrainFlow", title_justify="left")
    for column in ("run", "status", "started", "tags"):
        table.add_column(column)
    for recent in flow.runs(limit=5):
        table.add_row(
            recent.pathspec,
            recent.status.value,
            recent.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            ", ".join(sorted(recent.user_tags)),
        )
    console.print(table)

    tree = Tree(f"[bold]{run.pathspec}[/] {run.status.value}")
    for step in reversed(list(run)):
        branch = tree.add(f"{step.id}")
        for task in step:
            index = "" if task.index is None else f" (index {task.index})"
            attempts = task.metadata_dict.get("attempt", 0)
            retried = f", {attempts + 1} attempts" if attempts else ""
            branch.add(f"{task.pathspec}{index}: {task.status.value}{retried}")
    console.print(tree)

    data = run.data
    assert data is not None
    console.print(f"best_alpha = {data.best_alpha}, accuracy = {data.accuracy}")
    console.print(f"results = {data.results}")

    for task in run["train"]:
        if task.metadata_dict.get("attempt", 0) > 0:
            first = Task(task.pathspec, attempt=0)
            error = first.exception
            assert error is not None
            console.print(f"Retried task {task.pathspec}: attempt 0 failed with")
            console.print(f"  {error.type}: {error.message}", markup=False)
            console.print(f"  attempt {task.current_attempt} {task.status.value}")
            break

    sample = run["train"].task
    console.print(f"stdout of {sample.pathspec}:")
    for stamp, line in sample.loglines("stdout"):
        console.print(f"  {stamp:%H:%M:%S.%f} {line}", markup=False)
    meta = sample.metadata_dict
    console.print(
        f"metadata: attempt={meta['attempt']} runtime={meta['runtime']} "
        f"final_loss={meta['final_loss']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
