"""``flowtrail show PATHSPEC``: one flow, run, step, task or artifact, with its status, times,
tags, metadata and artifacts (and their sizes)."""

from __future__ import annotations

import json
from typing import Any

import click

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.cli.describe import describe
from flowtrail.cli.output import (
    echo_json,
    format_duration,
    format_size,
    output_option,
    print_fields,
    print_table,
)
from flowtrail.cli.reader import Reader, namespace_option

__all__ = ["show_command"]


# Rows a table leaves out when they have no value (JSON always has every key).
_OPTIONAL = frozenset({"resumed from", "triggered by", "cloned from", "foreach", "parent tasks"})


def _fields(fields: dict[str, Any]) -> None:
    print_fields({k: v for k, v in fields.items() if v is not None or k not in _OPTIONAL})


def _run_line(summary: dict[str, Any] | None) -> str | None:
    if summary is None:
        return None
    return f"{summary['pathspec']} ({summary['status']})"


def _times(
    entry: dict[str, Any], started: str = "started", start_key: str = "created_at"
) -> dict[str, Any]:
    start = entry[start_key]
    return {
        started: start,
        "finished": entry["finished_at"],
        "duration": format_duration(entry["duration_seconds"], since=start),
    }


def _tags(entry: dict[str, Any]) -> dict[str, Any]:
    return {"tags": entry["user_tags"], "system tags": entry["system_tags"]}


def _value(value: Any) -> Any:
    # Quoted, so that '' and 'line one\nline two' show as what they are; None is not kept.
    return repr(value) if isinstance(value, str) else value


def _artifacts(artifacts: list[dict[str, Any]], title: str) -> None:
    if not artifacts:
        click.echo(f"\n{title}: none")
        return
    click.echo()
    print_table(
        ("name", "type", "encoding", "size", "value"),
        (
            [a["name"], a["python_type"], a["encoding"], format_size(a["size"]), _value(a["value"])]
            for a in artifacts
        ),
        title=title,
    )


def _flow_metadata(values: dict[str, dict[str, Any]], title: str) -> None:
    if not values:
        return
    click.echo()
    print_table(
        ("name", "type", "value"),
        (
            [name, v["type"], json.dumps(v["value"]) if v["type"] == "json" else v["value"]]
            for name, v in values.items()
        ),
        title=title,
    )


def _show_flow(d: dict[str, Any]) -> None:
    _fields(
        {
            "flow": d["flow"],
            "created": d["created_at"],
            "latest run": _run_line(d["latest_run"]),
            "latest successful": _run_line(d["latest_successful_run"]),
        }
    )
    _flow_metadata(d["metadata"], "flow metadata (of the latest run's definition)")


def _show_run(d: dict[str, Any]) -> None:
    trigger = ", ".join(e["name"] + (f":{e['id']}" if e["id"] else "") for e in d["trigger"])
    _fields(
        {
            "run": d["pathspec"],
            "status": d["status"],
            "user": d["user"],
            **_times(d),
            **_tags(d),
            "parameters": [f"{k}={v!r}" for k, v in sorted(d["parameters"].items())],
            "resumed from": d["origin_pathspec"],
            "triggered by": trigger or None,
            "code": None
            if d["code"] is None
            else f"{d['code']['script_name']} (sha {d['code']['sha'][:12]})",
        }
    )
    _flow_metadata(d["flow_metadata"], "flow metadata")
    if d["metadata"]:
        click.echo()
        print_table(
            ("metadata", "value", "type", "recorded"),
            ([m["name"], m["value"], m["type"], m["created_at"]] for m in d["metadata"]),
            title="run metadata",
        )
    click.echo()
    print_table(
        ("step", "kind", "tasks", "statuses", "finished", "next"),
        (
            [
                s["step"],
                s["kind"],
                s["tasks"],
                [f"{count} {status}" for status, count in s["task_statuses"].items()],
                s["finished_at"],
                s["next_steps"],
            ]
            for s in d["steps"]
        ),
        title="steps (newest first)",
    )
    _artifacts(d["artifacts"], "artifacts of the end task")


def _show_step(d: dict[str, Any]) -> None:
    _fields(
        {
            "step": d["pathspec"],
            "kind": d["kind"],
            "next": d["next_steps"],
            "started": d["created_at"],
            "finished": d["finished_at"],
            **_tags(d),
        }
    )
    click.echo()
    print_table(
        ("task", "index", "status", "attempt", "started", "duration"),
        (
            [
                t["task_id"],
                t["index"],
                t["status"],
                t["attempt"],
                t["created_at"],
                format_duration(t["duration_seconds"], since=t["created_at"]),
            ]
            for t in d["tasks"]
        ),
        title="tasks",
    )


def _show_task(d: dict[str, Any]) -> None:
    exception = d["exception"]
    _fields(
        {
            "task": d["pathspec"],
            "status": d["status"],
            "attempt": d["attempt"],
            # The attempt shown; a task a resume cloned ran none: the copy's time.
            **_times(d, start_key="created_at" if d["started_at"] is None else "started_at"),
            "foreach": [f"{f['step']}[{f['index']}]" for f in d["foreach_stack"]] or None,
            "parent tasks": d["parent_tasks"] or None,
            "cloned from": d["origin_pathspec"],
            "exception": None
            if exception is None
            else f"{exception['type']}: {exception['message']}",
            **_tags(d),
        }
    )
    if d["metadata"]:
        click.echo()
        print_table(
            ("metadata", "value", "type", "attempt", "recorded"),
            (
                [m["name"], m["value"], m["type"], m["attempt"], m["created_at"]]
                for m in d["metadata"]
            ),
        )
    _artifacts(d["artifacts"], "artifacts")
    if exception is not None and exception["traceback"]:
        click.echo()
        click.echo(exception["traceback"].rstrip())


def _show_artifact(d: dict[str, Any]) -> None:
    _fields(
        {
            "artifact": d["pathspec"],
            "type": d["python_type"],
            "encoding": d["encoding"],
            "size": f"{format_size(d['size'])} ({d['size']} bytes)",
            "sha": d["sha"],
            "attempt": d["attempt"],
            "recorded": d["created_at"],
            "value": "(not kept for search: use flowtrail artifact get)"
            if d["value"] is None
            else repr(d["value"]),
            "cloned from": d["origin_pathspec"],
            **_tags(d),
        }
    )


_SHOW = {
    "flow": _show_flow,
    "run": _show_run,
    "step": _show_step,
    "task": _show_task,
    "artifact": _show_artifact,
}


@click.command("show", short_help="Show a flow, run, step, task or artifact.")
@click.argument("pathspec")
@click.option(
    "--attempt",
    metavar="N",
    type=click.IntRange(min=0),
    default=None,
    help="For a task or an artifact: show this attempt (from 0). Default: the latest.",
)
@namespace_option
@output_option
@pass_cli_context
def show_command(
    state: CliContext, pathspec: str, attempt: int | None, namespace: str | None, output: str
) -> None:
    """Show a flow, run, step, task or artifact: PATHSPEC is Flow, Flow/run_id,
    Flow/run_id/step, Flow/run_id/step/task_id or Flow/run_id/step/task_id/artifact.

    A flow shows its metadata, latest run and latest successful run; a run its status,
    times, tags, parameters, flow metadata, run metadata, steps and the artifacts of its end
    task; a step
    its tasks; a task its status, exception, metadata and artifacts with their sizes; an
    artifact its type, size and content hash. JSON output is one object whose "type" key
    says which.

    \b
    Example:
        flowtrail show TrainFlow/12
        flowtrail show TrainFlow/12/train/345 --attempt 0 -o json
    """
    reader = Reader.open(state, namespace)
    description = describe(reader.object(pathspec, attempt=attempt))
    if output == "json":
        echo_json(description)
        return
    _SHOW[description["type"]](description)
