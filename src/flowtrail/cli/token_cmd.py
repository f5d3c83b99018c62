"""``flowtrail token create``: a new bearer token for the flowtrail service.

The token is printed once, on stdout, and only its sha256 is appended to the token file
(see :mod:`flowtrail.service.auth` for the file's format), so the file reveals no token.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.cli.service import TOKEN_FILENAME
from flowtrail.errors import AlreadyExists, InvalidArgument

__all__ = ["create_command", "token_group"]


@click.group("token")
def token_group() -> None:
    """Manage the bearer tokens the flowtrail service accepts.

    \b
    Example:
        flowtrail token create --role write --name ci
    """


@token_group.command("create")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["read", "write", "admin"]),
    help="What the token allows: read, write (and read), admin (everything).",
)
@click.option(
    "--name",
    default=None,
    help="A label for the token in logs (letters, digits, _). Default: <role>_<number>.",
)
@click.option(
    "--file",
    "token_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The token file to append to. Default: .flowtrail/{TOKEN_FILENAME}, which "
    "flowtrail service reads by default.",
)
@pass_cli_context
def create_command(state: CliContext, role: str, name: str | None, token_file: Path | None) -> None:
    """Create a token: print it once on stdout, append its hash to the token file.

    Give the token to the client (FLOWTRAIL_SERVICE_TOKEN); it cannot be shown again. The
    file is created (readable by its owner only) if it does not exist. A running service
    reads its token file at start: restart it to accept the new token.

    \b
    Example:
        flowtrail token create --role write --name ci
        export FLOWTRAIL_SERVICE_TOKEN=$(flowtrail token create --role read --file tokens)
    """
    from flowtrail.service.auth import load_token_file, make_token_line

    if token_file is None:
        token_file = state.settings().ensure_home() / TOKEN_FILENAME
    known = load_token_file(token_file) if token_file.exists() else None
    names = {entry.name for entry in known.entries.values()} if known else set()
    if name is None:
        number = len(names) + 1
        while f"{role}_{number}" in names:
            number += 1
        name = f"{role}_{number}"
    elif name in names:
        raise AlreadyExists(
            f"the token file {str(token_file)!r} has a token named {name!r} already; "
            "choose another --name",
            details={"name": name},
        )
    token, line = make_token_line(name, role)
    if known is not None and not token_file.read_bytes().endswith(b"\n"):
        line = "\n" + line  # the last line had no end: do not join the new one to it
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        fd = os.open(token_file, flags, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            if known is None:
                handle.write("# name role hash (flowtrail token create)\n")
            handle.write(line + "\n")
    except OSError as exc:
        raise InvalidArgument(f"cannot write the token file {str(token_file)!r}: {exc}") from exc
    click.echo(token)
    click.echo(
        f"added token {name!r} ({role}) to {token_file}; this is the only time it is shown",
        err=True,
    )
