"""``flowtrail metadata get``: which metadata provider the commands read, as the client's
``get_metadata()`` describes it."""

from __future__ import annotations

import click

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.client import Provider

__all__ = ["get_command", "metadata_group"]


@click.group("metadata")
def metadata_group() -> None:
    """Show the metadata provider.

    \b
    Example:
        flowtrail metadata get
    """


@metadata_group.command("get")
@pass_cli_context
def get_command(state: CliContext) -> None:
    """Print the metadata provider the commands read from, as <type>@<location> with
    passwords masked: local@/abs/path/.flowtrail, service@URL or sql@URL.

    It comes from --metadata or --profile, FLOWTRAIL_METADATA, the profile file, or the
    .flowtrail folder found from the working directory (see flowtrail config show for
    where). Nothing is opened or created.

    \b
    Example:
        flowtrail metadata get
        flowtrail --metadata sql@postgresql+psycopg://me@db/flowtrail metadata get
    """
    click.echo(f"Using metadata provider: {Provider(state.settings()).describe()}")
