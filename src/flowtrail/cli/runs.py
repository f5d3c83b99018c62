"""``flowtrail runs [FLOW]``: search runs, of one flow or of every flow, through the client's
``Flow.runs`` / ``Flowtrail().runs`` (tags, ``where``, ``order_by``, ``limit``)."""

from __future__ import annotations

import sys
from itertools import islice

import click

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.cli.describe import run_summary
from flowtrail.cli.flows import RUN_COLUMNS, run_rows
from flowtrail.cli.output import echo_json, output_option, print_table
from flowtrail.cli.reader import Reader, namespace_option, search_errors

__all__ = ["runs_command"]


@click.command("runs", short_help="Search the runs of a flow or of every flow.")
@click.argument("flow", required=False)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="Only runs carrying TAG (repeat: runs carrying all of them).",
)
@click.option(
    "--where",
    metavar="CONDITION",
    default=None,
    help="A search condition: \"params.alpha > 0.1 and status = 'succeeded'\" "
    "(see the search reference).",
)
@click.option(
    "--order-by",
    "order_by",
    multiple=True,
    metavar="KEY",
    help="Sort by this field, '-' in front for descending (--order-by=-params.alpha); "
    "repeat for more keys. Default: newest first.",
)
@click.option(
    "--limit",
    metavar="N",
    type=click.IntRange(min=0, max=sys.maxsize),
    default=20,
    show_default=True,
    help="At most this many runs (0: all of them).",
)
@namespace_option
@output_option
@pass_cli_context
def runs_command(
    state: CliContext,
    flow: str | None,
    tags: tuple[str, ...],
    where: str | None,
    order_by: tuple[str, ...],
    limit: int,
    namespace: str | None,
    output: str,
) -> None:
    """List the runs of FLOW, or of every flow, newest first (or as --order-by says).

    Each run shows its pathspec, status, start, duration, user and user tags. JSON output is
    a list of runs, each with pathspec, flow, run_id, status, user, created_at, finished_at,
    duration_seconds, user_tags and system_tags.

    \b
    Example:
        flowtrail runs TrainFlow --tag prod --limit 5
        flowtrail runs --where "params.alpha > 0.1 and status = 'succeeded'" \\
            --order-by=-params.alpha -o json
    """
    reader = Reader.open(state, namespace)
    # A search: a flow without a run in --namespace finds no run, as every flow does there.
    source = reader.root() if flow is None else reader.flow(flow, in_namespace=False)
    with search_errors(where):
        runs = source.runs(
            *tags,
            where=where,
            order_by=list(order_by) or None,
            limit=None if limit == 0 else limit + 1,
        )
        summaries = [run_summary(run) for run in islice(runs, None if limit == 0 else limit)]
        more = limit != 0 and next(runs, None) is not None
    if output == "json":
        echo_json(summaries)
        return
    if not summaries:
        click.echo("no runs found")
        return
    print_table(RUN_COLUMNS, run_rows(summaries))
    if more:
        shown = "the first run" if limit == 1 else f"the first {limit} runs"
        click.echo(f"showing {shown}; --limit 0 shows all of them")
