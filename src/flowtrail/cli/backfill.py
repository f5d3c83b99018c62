"""``flowtrail backfill FLOW_FILE --partitions a,b,c``: one run of a flow per partition, all
tagged with one generated ``backfill:<id>``, run one after another; then a report."""

from __future__ import annotations

import secrets
import sys
from typing import Any

import click

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.cli.output import echo_json, output_option, print_table
from flowtrail.errors import InvalidArgument
from flowtrail.runtime.systags import image_from_env

__all__ = ["backfill_command", "parse_flow_parameters", "split_partitions"]


def split_partitions(text: str) -> list[str]:
    """``"a,b,c"`` as ``["a", "b", "c"]`` (blanks around commas dropped).

    Raises:
        InvalidArgument: no partition, an empty one, or one given twice.
    """
    keys = [key.strip() for key in text.split(",")]
    if not text.strip() or any(not key for key in keys):
        raise InvalidArgument(f"--partitions takes keys separated by commas (a,b,c), got {text!r}")
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise InvalidArgument(f"--partitions names {', '.join(repeated)} more than once")
    return keys


def parse_flow_parameters(args: tuple[str, ...]) -> dict[str, str]:
    """The flow parameters after the options, as ``--NAME VALUE`` or ``--NAME=VALUE``.

    Raises:
        InvalidArgument: something that is not ``--NAME`` followed by a value.
    """
    values: dict[str, str] = {}
    items = list(args)
    while items:
        item = items.pop(0)
        if not item.startswith("--") or len(item) < 3:
            raise InvalidArgument(f"expected flow parameters as --NAME VALUE, got {item!r}")
        name, sep, value = item[2:].partition("=")
        if not sep:
            if not items:
                raise InvalidArgument(f"flow parameter --{name} needs a value")
            value = items.pop(0)
        values[name] = value
    return values


@click.command(
    "backfill",
    short_help="Run a flow once per partition, all tagged with one backfill id.",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("flow_file", type=click.Path(dir_okay=False))
@click.option(
    "--partitions",
    required=True,
    metavar="KEY,KEY,...",
    help="The partitions to run, separated by commas: one run each, in this order.",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="A user tag for every run (repeat for more).",
)
@click.option(
    "--max-workers",
    type=click.IntRange(1, 1024),
    default=None,
    help="Worker processes of each run (default: the flowtrail/max_workers tag, else the "
    "number of cores).",
)
@output_option
@click.argument("params", nargs=-1, type=click.UNPROCESSED, metavar="[--PARAM VALUE]...")
@pass_cli_context
def backfill_command(
    state: CliContext,
    flow_file: str,
    partitions: str,
    tags: tuple[str, ...],
    max_workers: int | None,
    output: str,
    params: tuple[str, ...],
) -> None:
    """Run the flow in FLOW_FILE once per partition, one run after another.

    Every run is tagged partition:KEY (the flow reads it as current.partition) and
    backfill:ID, one generated id for the whole backfill, printed first. A failed run does
    not stop the others; the report lists each run's pathspec and status, and the exit
    status is 1 when any run did not succeed. Flow parameters follow the options, as for
    python flow.py run.

    \b
    Example:
        flowtrail backfill flow.py --partitions 2026-03-01,2026-03-02,2026-03-03
        flowtrail backfill flow.py --partitions eu,us --tag nightly --alpha 0.5 -o json
    """
    from flowtrail.runtime.api import load_flow
    from flowtrail.runtime.launch import RunRequest, check_request, launch, resolve_parameters
    from flowtrail.runtime.progress import SilentProgress

    keys = split_partitions(partitions)
    parameters = parse_flow_parameters(params)
    flow_cls = load_flow(flow_file)
    settings = state.settings()
    backfill_id = secrets.token_hex(4)
    image = image_from_env()
    requests = [
        RunRequest(
            parameters=parameters,
            tags=tags,
            max_workers=max_workers,
            partition=key,
            backfill=backfill_id,
            image=image,
        )
        for key in keys
    ]
    # Whatever is wrong with the input fails here, before the first run is recorded.
    resolve_parameters(flow_cls, parameters)
    for request in requests:
        check_request(flow_cls, request)
    name = flow_cls.__name__
    if output == "table":
        click.echo(f"backfill {backfill_id}: {len(keys)} runs of {name}")
    report: list[dict[str, Any]] = []
    for key, request in zip(keys, requests, strict=True):
        outcome = launch(flow_cls, settings, request, SilentProgress())
        entry = {
            "partition": key,
            "pathspec": str(outcome.run),
            "status": outcome.status.value,
            "failed_task": None if outcome.failed_task is None else str(outcome.failed_task),
        }
        report.append(entry)
        click.echo(f"{key}: {entry['pathspec']} {entry['status']}", err=True)
    if output == "json":
        echo_json({"backfill": backfill_id, "flow": name, "runs": report})
    else:
        click.echo()
        print_table(
            ("partition", "run", "status", "failed task"),
            ([e["partition"], e["pathspec"], e["status"], e["failed_task"]] for e in report),
            title=f"backfill:{backfill_id}",
        )
    if any(e["status"] != "succeeded" for e in report):
        sys.exit(1)
