"""``flowtrail tag add|remove|replace``: change a run's user tags; ``flowtrail tags``: each
distinct tag with the number of runs carrying it.

Tag changes go through the client's ``Run.add_tags`` / ``remove_tags`` / ``replace_tags``, so
the client's rules hold: system tags (``user:…``, ``runtime:…``) cannot be added or removed,
adding a tag the run has is a no-op, and a replace is one atomic change. A run is found by its
pathspec in every namespace.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.cli.output import echo_json, output_option, print_table
from flowtrail.cli.reader import Reader
from flowtrail.client import Run
from flowtrail.errors import InvalidArgument
from flowtrail.model import Level

__all__ = ["tag_group", "tags_command"]


def _change(state: CliContext, pathspec: str, output: str, change: Callable[[Run], None]) -> None:
    """Open the run, apply ``change``, and print the tags it carries now."""
    run = Reader.open(state).object(pathspec, Level.RUN)
    assert isinstance(run, Run)
    change(run)
    user, system = sorted(run.user_tags), sorted(run.system_tags)
    if output == "json":
        echo_json({"pathspec": run.pathspec, "user_tags": user, "system_tags": system})
    else:
        click.echo(f"{run.pathspec} tags: {', '.join(user) if user else '(none)'}")


@click.group("tag")
def tag_group() -> None:
    """Add, remove or replace the user tags of a run.

    Each command prints the run's user tags afterwards. System tags (user:, runtime:,
    python_version:, ...) are set by flowtrail and cannot be changed.

    \b
    Example:
        flowtrail tag add TrainFlow/12 reviewed prod
        flowtrail tag replace TrainFlow/12 --remove staging --add prod
    """


@tag_group.command("add")
@click.argument("run_pathspec", metavar="RUN_PATHSPEC")
@click.argument("tags", metavar="TAG...", nargs=-1, required=True)
@output_option
@pass_cli_context
def add_command(state: CliContext, run_pathspec: str, tags: tuple[str, ...], output: str) -> None:
    """Add user tags to the run RUN_PATHSPEC (Flow/run_id), all at once.

    A tag the run already carries is skipped. A tag that breaks a tag rule (empty, over 500
    characters, a system prefix such as user:) fails the whole command, and nothing changes.

    \b
    Example:
        flowtrail tag add TrainFlow/12 reviewed team:ml
    """
    _change(state, run_pathspec, output, lambda run: run.add_tags(tags))


@tag_group.command("remove")
@click.argument("run_pathspec", metavar="RUN_PATHSPEC")
@click.argument("tags", metavar="TAG...", nargs=-1, required=True)
@output_option
@pass_cli_context
def remove_command(
    state: CliContext, run_pathspec: str, tags: tuple[str, ...], output: str
) -> None:
    """Remove user tags from the run RUN_PATHSPEC (Flow/run_id), all at once.

    Removing a tag the run does not carry does nothing; removing a system tag is an error,
    and then nothing changes.

    \b
    Example:
        flowtrail tag remove TrainFlow/12 staging
    """
    _change(state, run_pathspec, output, lambda run: run.remove_tags(tags))


@tag_group.command("replace")
@click.argument("run_pathspec", metavar="RUN_PATHSPEC")
@click.option(
    "--remove",
    "old",
    multiple=True,
    metavar="OLD",
    help="A tag to remove (repeat for more).",
)
@click.option("--add", "new", multiple=True, metavar="NEW", help="A tag to add (repeat for more).")
@output_option
@pass_cli_context
def replace_command(
    state: CliContext, run_pathspec: str, old: tuple[str, ...], new: tuple[str, ...], output: str
) -> None:
    """Remove the --remove tags and add the --add tags of the run RUN_PATHSPEC, in one
    atomic change: every reader sees the old tags or the new ones, never a mix.

    Removal comes first, so a tag given to both ends up on the run. The rules of tag add and
    tag remove apply; if one is broken, nothing changes.

    \b
    Example:
        flowtrail tag replace TrainFlow/12 --remove staging --add prod
        flowtrail tag replace TrainFlow/12 --remove a --remove b --add c
    """
    if not old and not new:
        raise InvalidArgument(
            "tag replace needs at least one --remove OLD or --add NEW, e.g. "
            f"flowtrail tag replace {run_pathspec} --remove staging --add prod"
        )
    _change(state, run_pathspec, output, lambda run: run.replace_tags(old, new))


@click.command("tags", short_help="Count the runs carrying each tag.")
@click.argument("flow", required=False)
@click.option("--prefix", metavar="P", default=None, help="Only tags starting with P (team:).")
@output_option
@pass_cli_context
def tags_command(state: CliContext, flow: str | None, prefix: str | None, output: str) -> None:
    """List each distinct tag of the runs of FLOW (or of every flow), user and system tags
    alike, ordered by tag, with the number of runs carrying it.

    The counts take every run, in every namespace. JSON output is a list of
    {"tag": ..., "runs": N}.

    \b
    Example:
        flowtrail tags TrainFlow
        flowtrail tags --prefix team: -o json
    """
    reader = Reader.open(state)
    source = reader.root() if flow is None else reader.flow(flow)
    counts = source.tags(prefix)
    if output == "json":
        echo_json([{"tag": tag, "runs": runs} for tag, runs in counts.items()])
        return
    if not counts:
        click.echo("no tags" + ("" if prefix is None else f" starting with {prefix!r}"))
        return
    print_table(("tag", "runs"), ([tag, runs] for tag, runs in counts.items()))
