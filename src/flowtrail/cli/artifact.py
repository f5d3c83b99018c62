"""``flowtrail artifact get``: an artifact's value, on stdout or in a file.

The rule: ``bytes`` are written as they are and ``str`` as UTF-8 text (no newline added),
whether to stdout or to ``--output FILE``. Any other value is printed as its ``repr()`` (and a
newline) on stdout, or pickled (protocol 5) into ``--output FILE``, so that
``pickle.load(open(FILE, 'rb'))`` gives it back.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import click

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.cli.reader import Reader, namespace_option
from flowtrail.client import DataArtifact
from flowtrail.errors import InvalidArgument
from flowtrail.model import Level

__all__ = ["artifact_group", "encode_value", "get_command"]


def encode_value(value: object, *, to_file: bool) -> tuple[bytes, str]:
    """The bytes ``artifact get`` writes for ``value``, and what they are.

    Args:
        value: The artifact's value.
        to_file: ``True`` for ``--output FILE`` (pickle), ``False`` for stdout (``repr``).

    Returns:
        ``(data, kind)``, the kind being ``"bytes"``, ``"text"``, ``"pickle"`` or ``"repr"``.
    """
    if isinstance(value, (bytes, bytearray)):
        return bytes(value), "bytes"
    if isinstance(value, str):
        return value.encode("utf-8"), "text"
    if to_file:
        return pickle.dumps(value, protocol=5), "pickle"
    return (repr(value) + "\n").encode("utf-8"), "repr"


@click.group("artifact")
def artifact_group() -> None:
    """Read the values of artifacts.

    \b
    Example:
        flowtrail artifact get TrainFlow/12/end/9/model --output model.pkl
    """


@artifact_group.command("get")
@click.argument("artifact_pathspec", metavar="ARTIFACT_PATHSPEC")
@click.option(
    "--output",
    "output_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the value to FILE: bytes as they are, str as UTF-8, anything else pickled.",
)
@click.option(
    "--attempt",
    metavar="N",
    type=click.IntRange(min=0),
    default=None,
    help="The attempt whose artifact to read (from 0). Default: the latest that stored it.",
)
@namespace_option
@pass_cli_context
def get_command(
    state: CliContext,
    artifact_pathspec: str,
    output_file: Path | None,
    attempt: int | None,
    namespace: str | None,
) -> None:
    """Print the value of the artifact ARTIFACT_PATHSPEC
    (Flow/run_id/step/task_id/artifact), or write it to --output FILE.

    bytes are written raw and str as UTF-8 text, without a newline added, on stdout or into
    FILE alike. Any other value is printed as its repr() on stdout, or pickled (protocol 5)
    into FILE, to be read back with pickle.load. Unpickling runs code chosen by whoever wrote
    the artifact: read only artifacts you trust.

    \b
    Example:
        flowtrail artifact get TrainFlow/12/end/9/accuracy
        flowtrail artifact get TrainFlow/12/train/345/model --output model.pkl
    """
    artifact = Reader.open(state, namespace).object(artifact_pathspec, Level.ARTIFACT, attempt)
    assert isinstance(artifact, DataArtifact)
    data, kind = encode_value(artifact.data, to_file=output_file is not None)
    if output_file is None:
        click.echo(data, nl=False)  # bytes go to stdout's binary buffer, unchanged
        return
    try:
        output_file.write_bytes(data)
    except OSError as exc:
        raise InvalidArgument(
            f"cannot write {output_file}: {exc.strerror or exc}",
            details={"output": str(output_file)},
        ) from exc
    click.echo(f"wrote {len(data)} bytes ({kind}) to {output_file}", err=True)
