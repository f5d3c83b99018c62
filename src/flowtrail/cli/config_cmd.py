"""``flowtrail config``: the resolved settings, and where each value came from."""

from __future__ import annotations

import json
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.config import Settings, config_file_location, mask_password

__all__ = ["config_group", "settings_report", "show_command"]


def settings_report(settings: Settings) -> dict[str, dict[str, Any]]:
    """Describe the settings as ``{name: {"value": ..., "source": ...}}``, passwords masked.

    Args:
        settings: The resolved settings.

    Returns:
        One entry per setting: ``metadata`` (the provider, ``<type>@<location>``),
        ``metadata_url``, ``datastore``, ``datastore_root``, ``profile``, ``home`` and
        ``config_file`` (which also says whether the file ``exists``).
    """
    sources = settings.sources
    metadata_source = sources.get("metadata", "default")
    location_source = sources.get("metadata_location", metadata_source)
    if location_source != metadata_source:
        metadata_source = f"{metadata_source} + {location_source}"
    config_file, config_file_source = config_file_location()
    return {
        "metadata": {"value": settings.describe_metadata(), "source": metadata_source},
        "metadata_url": {"value": mask_password(settings.metadata_url), "source": location_source},
        "datastore": {"value": settings.datastore, "source": sources.get("datastore", "default")},
        "datastore_root": {
            "value": mask_password(settings.datastore_root),
            "source": sources.get("datastore_root", "default"),
        },
        "profile": {"value": settings.profile, "source": sources.get("profile", "default")},
        "home": {"value": str(settings.home), "source": sources.get("home", "default")},
        "config_file": {
            "value": None if config_file is None else str(config_file),
            "source": config_file_source,
            "exists": config_file is not None and config_file.is_file(),
        },
    }


@click.group("config")
def config_group() -> None:
    """Inspect flowtrail's configuration.

    \b
    Example:
        flowtrail config show
    """


@config_group.command("show")
@click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Print a table, or a JSON object of {setting: {value, source}}.",
)
@pass_cli_context
def show_command(state: CliContext, output: str) -> None:
    """Show the resolved settings and where each value came from.

    Sources are argument (a --profile or --metadata option), env:FLOWTRAIL_*,
    profile:<name> (<file>) or default. Passwords are masked.

    \b
    Example:
        FLOWTRAIL_METADATA=sql@postgresql+psycopg://me@db/flowtrail flowtrail config show
    """
    report = settings_report(state.settings())
    if output == "json":
        click.echo(json.dumps(report, indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("setting", style="bold")
    table.add_column("value", overflow="fold")
    table.add_column("source", style="dim", overflow="fold")
    for name, entry in report.items():
        value = "-" if entry["value"] is None else str(entry["value"])
        if name == "config_file" and entry["value"] is not None and not entry["exists"]:
            value += " (not found)"
        table.add_row(name, Text(value), Text(str(entry["source"])))
    Console(soft_wrap=False).print(table)
