"""``python flow.py run | resume | show``: the command line a flow file gets from
``MyFlow()`` at its end."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from typing import Any, NoReturn

import click

from flowtrail.config import resolve_settings
from flowtrail.errors import FlowtrailError, InvalidArgument
from flowtrail.model import Status, TriggerEvent, utc_now
from flowtrail.runtime.definition import flow_definition
from flowtrail.runtime.launch import RunRequest, flow_graph, launch
from flowtrail.runtime.parameters import Parameter
from flowtrail.runtime.progress import choose_progress
from flowtrail.runtime.systags import image_from_env

__all__ = ["build_cli", "main"]

_RUN_OPTIONS = {"tags", "max_workers", "heartbeat_timeout", "store_retry_seconds", "quiet"}
_RESERVED = {
    "tag",
    "max_workers",
    "run_id",
    "trigger_event",
    "heartbeat_timeout",
    "store_retry_seconds",
    "quiet",
    "step",
    "partition",
}
_EXIT = {Status.SUCCEEDED: 0, Status.FAILED: 1, Status.CANCELLED: 130}


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _parameter_help(params: dict[str, Parameter]) -> str:
    if not params:
        return "The flow has no parameters."
    # "\b" keeps click from joining the lines into one paragraph.
    lines = ["Parameters (give them to run, e.g. run --NAME VALUE):", "", "\b"]
    heads = {name: f"--{name} {param.type_name.upper()}" for name, param in params.items()}
    width = max(len(head) for head in heads.values())
    for name, param in params.items():
        default = "required" if param.required else f"default: {param.default!r}"
        text = f"{param.help.rstrip('.')}. " if param.help else ""
        lines.append(f"  {heads[name]:<{width}}  {text}({default})")
    return "\n".join(lines)


def _common(func: Any) -> Any:
    func = click.option(
        "--max-workers",
        type=click.IntRange(1, 1024),
        default=None,
        help="Worker processes that run tasks at once (default: the flowtrail/max_workers "
        "tag, else the number of cores).",
    )(func)
    func = click.option(
        "--tag",
        "tags",
        multiple=True,
        metavar="TAG",
        help="A user tag for the run, added to the flow's default tags (repeat for more); "
        "flowtrail/max_retries:N, flowtrail/max_workers:N and flowtrail/timeout_seconds:N "
        "change how it runs.",
    )(func)
    func = click.option(
        "--heartbeat-timeout",
        type=click.FloatRange(0.001),
        default=120.0,
        show_default=True,
        help="Seconds of scheduler silence after which readers record the run lost.",
    )(func)
    func = click.option(
        "--store-retry-seconds",
        type=click.FloatRange(0),
        default=60.0,
        show_default=True,
        envvar="FLOWTRAIL_STORE_RETRY_SECONDS",
        help="Seconds the metadata store (a restarting service) may stay unavailable while "
        "the run holds its records and retries; then the run stops "
        "[env: FLOWTRAIL_STORE_RETRY_SECONDS].",
    )(func)
    return click.option(
        "--quiet", is_flag=True, help="Show nothing while the run goes (the exit code tells)."
    )(func)


def build_cli(flow_cls: type) -> click.Group:
    """The command group of a flow class."""
    params: dict[str, Parameter] = flow_cls._parameters()  # type: ignore[attr-defined]
    for name in params:
        if name.replace("-", "_") in _RESERVED:
            raise InvalidArgument(f"parameter {name!r} clashes with the run option --{name}")
    name = flow_cls.__name__
    doc = (flow_cls.__doc__ or "").strip()

    @click.group(
        help=f"{doc}\n\n{_parameter_help(params)}" if doc else _parameter_help(params),
        epilog="Examples:\n\n  python flow.py run --tag experiment\n\n"
        "  python flow.py run --partition 2026-03-01\n\n"
        "  python flow.py resume --step train\n\n  python flow.py show",
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )
    def group() -> None:
        pass

    group.name = name

    @group.command("show", help="Show the flow's steps and how they connect.")
    def show() -> None:
        graph = _graph(flow_cls)
        click.echo(f"{name} ({graph.file})")
        for line in graph.describe():
            click.echo(f"  {line}")
        try:
            definition = flow_definition(flow_cls)
        except FlowtrailError as exc:
            _fail(exc.message)
        for key, value in definition.metadata.items():
            text = value.to_text().replace("\n", "\\n")
            click.echo(f"  metadata {key} ({value.type}): {text}")
        if definition.tags:
            click.echo(f"  default tags: {', '.join(definition.tags)}")

    @click.option("--run-id", default=None, help="The run's id (default: the next number).")
    @click.option(
        "--partition",
        default=None,
        metavar="KEY",
        help="The partition this run computes: tagged partition:KEY, read as current.partition.",
    )
    @click.option(
        "--trigger-event",
        "trigger_events",
        multiple=True,
        metavar="NAME[:ID]",
        help="Record that this event started the run.",
    )
    @_common
    def run(**options: Any) -> None:
        triggers = tuple(_trigger(text) for text in options.pop("trigger_events"))
        base = RunRequest(
            trigger=triggers, run_id=options.pop("run_id"), partition=options.pop("partition")
        )
        _go(flow_cls, options, base)

    run.__doc__ = "Run the flow and record its history."
    for param in reversed(params.values()):
        run = click.option(
            f"--{param.name}",
            param.name,
            default=None,
            metavar=param.type_name.upper(),
            help=(param.help or "")
            + (" (required)" if param.required else f" (default: {param.default!r})"),
        )(run)
    group.command("run", help=run.__doc__)(run)

    @group.command(
        "resume",
        help="Run again after a failure: a new run that takes over "
        "every successful task before the failed step (or --step) and runs the "
        "rest. RUN_ID defaults to your latest run of this flow.",
    )
    @click.argument("run_id", required=False, default="")
    @click.option("--step", default=None, help="Run again from this step.")
    @_common
    def resume(**options: Any) -> None:
        request = RunRequest(resume=options.pop("run_id"), resume_step=options.pop("step"))
        _go(flow_cls, options, request)

    return group


def _trigger(text: str) -> TriggerEvent:
    name, _, event_id = text.partition(":")
    if not name:
        raise click.BadParameter(f"expected NAME or NAME:ID, got {text!r}")
    return TriggerEvent(name=name, timestamp=utc_now(), id=event_id or None)


def _graph(flow_cls: type) -> Any:
    try:
        return flow_graph(flow_cls)
    except FlowtrailError as exc:
        _fail(exc.message)


def _go(flow_cls: type, options: dict[str, Any], base: RunRequest) -> None:
    _graph(flow_cls)
    parameters = {k: v for k, v in options.items() if k not in _RUN_OPTIONS and v is not None}
    request = RunRequest(
        parameters=parameters,
        tags=options["tags"],
        max_workers=options["max_workers"],
        run_id=base.run_id,
        trigger=base.trigger,
        heartbeat_timeout=timedelta(seconds=options["heartbeat_timeout"]),
        store_retry_seconds=options["store_retry_seconds"],
        resume=base.resume,
        resume_step=base.resume_step,
        partition=base.partition,
        image=image_from_env(),
    )
    progress = choose_progress(False if options["quiet"] else None)
    try:
        outcome = launch(flow_cls, resolve_settings(), request, progress)
    except FlowtrailError as exc:
        _fail(exc.message)
    if outcome.status is not Status.SUCCEEDED and options["quiet"]:
        described = outcome.describe()
        if described:
            click.echo(described, err=True)
    sys.exit(_EXIT.get(outcome.status, 1))


def main(flow_cls: type) -> None:
    """Run the command line of ``flow_cls`` (what ``MyFlow()`` at a file's end does)."""
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "flow.py"
    build_cli(flow_cls)(prog_name=f"python {script}")
