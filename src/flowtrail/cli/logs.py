"""``flowtrail logs TASK_PATHSPEC``: the output a task printed, and ``--follow`` to keep
printing new lines until it finishes."""

from __future__ import annotations

import time

import click

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.cli.reader import Reader, namespace_option
from flowtrail.client import Run, Task
from flowtrail.model import Level

__all__ = ["logs_command"]


def _open_task(reader: Reader, pathspec: str, attempt: int | None) -> Task:
    task = reader.object(pathspec, Level.TASK, attempt)
    assert isinstance(task, Task)
    return task


@click.command("logs", short_help="Print what a task wrote to stdout or stderr.")
@click.argument("task_pathspec", metavar="TASK_PATHSPEC")
@click.option("--stderr", "stderr", is_flag=True, help="Print standard error, not standard output.")
@click.option(
    "--attempt",
    metavar="N",
    type=click.IntRange(min=0),
    default=None,
    help="The attempt whose output to print (from 0). Default: the latest.",
)
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Keep printing new lines until the task (or its run) finishes.",
)
@click.option(
    "--interval",
    metavar="SECONDS",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between two looks for new lines with --follow.",
)
@namespace_option
@pass_cli_context
def logs_command(
    state: CliContext,
    task_pathspec: str,
    stderr: bool,
    attempt: int | None,
    follow: bool,
    interval: float,
    namespace: str | None,
) -> None:
    """Print what the task TASK_PATHSPEC (Flow/run_id/step/task_id) wrote to standard
    output, or to standard error with --stderr, one line as it was written.

    Without --attempt the latest attempt is printed; with --follow, when the task is
    retried, the next attempt's lines follow a "--- attempt N ---" line on stderr.

    \b
    Example:
        flowtrail logs TrainFlow/12/train/345
        flowtrail logs TrainFlow/12/train/345 --stderr --attempt 0
        flowtrail logs TrainFlow/13/train/350 --follow
    """
    reader = Reader.open(state, namespace)
    stream = "stderr" if stderr else "stdout"
    task = _open_task(reader, task_pathspec, attempt)
    run_pathspec = "/".join(task.path_components[:2])
    shown_attempt = task.current_attempt
    printed = 0
    while True:
        # Whether it had finished is read before the lines: lines written before the end are
        # then all printed by this last pass.
        done = not follow or task.finished or _run_finished(reader, run_pathspec)
        number = task.current_attempt
        if number != shown_attempt:
            if shown_attempt is not None:
                # The attempt shown so far has ended: the lines it wrote since the last look
                # come first.
                ended = _open_task(reader, task_pathspec, shown_attempt)
                for _, line in ended.loglines(stream, offset=printed):
                    click.echo(line)
                click.echo(f"--- attempt {number} ---", err=True)
            shown_attempt, printed = number, 0
        for _, line in task.loglines(stream, offset=printed):
            click.echo(line)
            printed += 1
        if done:
            return
        time.sleep(interval)
        task = _open_task(reader, task_pathspec, attempt)


def _run_finished(reader: Reader, pathspec: str) -> bool:
    """A run that ended (failed, cancelled, lost) leaves no task running, whatever its
    tasks' records say."""
    run = reader.object(pathspec, Level.RUN)
    assert isinstance(run, Run)
    return run.finished
