"""The ``flowtrail`` command group, its global options, and how errors are shown.

Any :class:`~flowtrail.errors.FlowtrailError` a command raises is printed as one line,
``error: <message>``, on stderr, and the command exits with status 1 (no traceback). Usage
errors (an unknown option, a bad choice) exit with status 2, as click does.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Sequence
from typing import IO, Any

import click

from flowtrail import __version__
from flowtrail.cli.artifact import artifact_group
from flowtrail.cli.backfill import backfill_command
from flowtrail.cli.config_cmd import config_group
from flowtrail.cli.context import CliContext
from flowtrail.cli.db import db_group
from flowtrail.cli.flows import flows_command, status_command
from flowtrail.cli.logs import logs_command
from flowtrail.cli.metadata_cmd import metadata_group
from flowtrail.cli.runs import runs_command
from flowtrail.cli.service import service_command
from flowtrail.cli.show import show_command
from flowtrail.cli.tags import tag_group, tags_command
from flowtrail.cli.token_cmd import token_group
from flowtrail.errors import FlowtrailError

__all__ = ["CliError", "FlowtrailGroup", "cli", "main"]


class CliError(click.ClickException):
    """A failure shown to the user as one line, ``error: <message>``, with exit status 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``error: <message>`` on stderr (or on ``file``).

        Args:
            file: Where to print; stderr when omitted.
        """
        click.echo(f"error: {self.format_message()}", file=file, err=file is None)


class FlowtrailGroup(click.Group):
    """A click group that turns every :class:`FlowtrailError` into a one-line :class:`CliError`.

    Subcommands run inside the top-level group's :meth:`invoke`, so wrapping it once covers
    every command, however deeply nested.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the group and its subcommand, translating flowtrail errors.

        Args:
            ctx: The click context of this group.

        Returns:
            Whatever the subcommand returns.

        Raises:
            CliError: A command raised a :class:`FlowtrailError`.
        """
        try:
            return super().invoke(ctx)
        except FlowtrailError as exc:
            state = ctx.find_object(CliContext)
            message = " ".join(str(exc).split("\n")).strip() or type(exc).__name__
            raise CliError(state.redact(message) if state else message) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # click's main ends quietly when the reader of stdout went away
            # Most often stdout itself cannot be written (a full disk, /dev/full): what is
            # still buffered for it is dropped, so that exiting does not fail again.
            _drop_stdout()
            where = f": {exc.filename}" if exc.filename else ""
            raise CliError(f"{exc.strerror or exc}{where} (errno {exc.errno})") from None


def _drop_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@click.group(
    cls=FlowtrailGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(
    __version__, "--version", prog_name="flowtrail", message="%(prog)s %(version)s"
)
@click.option(
    "--profile",
    metavar="NAME",
    default=None,
    help="Use this profile of the profile file (overrides FLOWTRAIL_PROFILE).",
)
@click.option(
    "--metadata",
    metavar="SPEC",
    default=None,
    help="Metadata provider: local, local@PATH, service@URL, sql@URL or a database URL "
    "(overrides FLOWTRAIL_METADATA).",
)
@click.pass_context
def cli(ctx: click.Context, profile: str | None, metadata: str | None) -> None:
    """flowtrail: workflows whose execution history you can find, search and share.

    Settings come from the options, then FLOWTRAIL_* environment variables, then the
    profile file, then the embedded default (a .flowtrail folder found by walking up from
    the working directory). See `flowtrail config show`.

    \b
    Example:
        flowtrail db upgrade
        flowtrail --profile team config show
    """
    ctx.obj = CliContext(profile=profile, metadata=metadata)


cli.add_command(db_group)
cli.add_command(config_group)
cli.add_command(metadata_group)
cli.add_command(flows_command)
cli.add_command(status_command)
cli.add_command(runs_command)
cli.add_command(show_command)
cli.add_command(logs_command)
cli.add_command(tag_group)
cli.add_command(tags_command)
cli.add_command(artifact_group)
cli.add_command(backfill_command)
cli.add_command(service_command)
cli.add_command(token_group)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (the ``flowtrail`` console script and ``python -m flowtrail``).

    Args:
        argv: The arguments; ``sys.argv[1:]`` when omitted.
    """
    cli.main(args=None if argv is None else list(argv), prog_name="flowtrail")
