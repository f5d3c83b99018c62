"""``flowtrail flows`` (every flow and its latest run) and ``flowtrail status FLOW`` (the
recent runs of one flow, its latest successful run highlighted)."""

from __future__ import annotations

import sys
from itertools import islice
from typing import Any

import click
from rich.text import Text

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.cli.describe import run_summary
from flowtrail.cli.output import echo_json, format_duration, output_option, print_table
from flowtrail.cli.reader import Reader, namespace_option

__all__ = ["flows_command", "run_rows", "status_command"]

RUN_COLUMNS = ("run", "status", "started", "duration", "user", "tags")


def run_rows(summaries: list[dict[str, Any]], *, id_only: bool = False) -> list[list[Any]]:
    """Table rows for :func:`~flowtrail.cli.describe.run_summary` dicts, in
    :data:`RUN_COLUMNS` order (``id_only``: the run id instead of the pathspec)."""
    return [
        [
            s["run_id"] if id_only else s["pathspec"],
            s["status"],
            s["created_at"],
            format_duration(s["duration_seconds"], since=s["created_at"]),
            s["user"],
            s["user_tags"],
        ]
        for s in summaries
    ]


@click.command("flows", short_help="List the flows, with their latest runs.")
@namespace_option
@output_option
@pass_cli_context
def flows_command(state: CliContext, namespace: str | None, output: str) -> None:
    """List every flow, by name, with its latest run and latest successful run.

    With --namespace, only flows with a run carrying that tag, and only those runs.

    \b
    Example:
        flowtrail flows
        flowtrail flows --namespace user:alice -o json
    """
    reader = Reader.open(state, namespace)
    found: list[dict[str, Any]] = []
    for flow in reader.root():
        latest, successful = flow.latest_run, flow.latest_successful_run
        found.append(
            {
                "flow": flow.id,
                "created_at": flow.created_at,
                "latest_run": None if latest is None else run_summary(latest),
                "latest_successful_run": None if successful is None else successful.pathspec,
            }
        )
    if output == "json":
        echo_json(found)
        return
    rows = []
    for entry in found:
        newest: dict[str, Any] = entry["latest_run"] or {}
        rows.append(
            [
                entry["flow"],
                newest.get("run_id"),
                newest.get("status"),
                newest.get("created_at"),
                entry["latest_successful_run"],
            ]
        )
    if not rows:
        click.echo("no flows recorded" + ("" if namespace is None else f" in {namespace!r}"))
        return
    print_table(("flow", "latest run", "status", "started", "latest successful"), rows)


@click.command("status", short_help="Show the recent runs of a flow.")
@click.argument("flow")
@click.option(
    "--limit",
    metavar="N",
    type=click.IntRange(min=0, max=sys.maxsize),
    default=10,
    show_default=True,
    help="Show this many recent runs (0: all of them).",
)
@namespace_option
@output_option
@pass_cli_context
def status_command(
    state: CliContext, flow: str, limit: int, namespace: str | None, output: str
) -> None:
    """Show the recent runs of FLOW, newest first: id, status, start, duration, user and
    tags. The latest successful run is highlighted (marked * in the table). With
    --namespace, only the runs carrying that tag; a flow none of whose runs carries it is an
    error.

    JSON output is an object: flow, latest_run and latest_successful_run (pathspecs or
    null), and runs (a list).

    \b
    Example:
        flowtrail status TrainFlow
        flowtrail status TrainFlow --limit 3 -o json
    """
    reader = Reader.open(state, namespace)
    found = reader.flow(flow)
    runs = found.runs(limit=None if limit == 0 else limit + 1)
    summaries = [run_summary(run) for run in islice(runs, None if limit == 0 else limit)]
    more = limit != 0 and next(runs, None) is not None
    successful = found.latest_successful_run
    best = None if successful is None else successful.pathspec
    if output == "json":
        echo_json(
            {
                "flow": found.id,
                "latest_run": summaries[0]["pathspec"] if summaries else None,
                "latest_successful_run": best,
                "runs": summaries,
            }
        )
        return
    rows = [
        [Text("*" if s["pathspec"] == best else ""), *row]
        for s, row in zip(summaries, run_rows(summaries, id_only=True), strict=True)
    ]
    styles = ["bold green" if s["pathspec"] == best else None for s in summaries]
    print_table(("", *RUN_COLUMNS), rows, styles=styles, title=f"{found.id}: recent runs")
    if best is None:
        click.echo("no successful run" + ("" if namespace is None else f" in {namespace!r}"))
    else:
        click.echo(f"* latest successful run: {best}")
    if more:
        shown = "the newest run" if limit == 1 else f"the {limit} newest runs"
        click.echo(f"showing {shown}; --limit 0 shows all of them")
