"""Every command's help shows an example of that very command, every listing offers JSON, and
the reference has a section per command (that part is in tests/test_cli.py, for all of them)."""

from __future__ import annotations

import click
import pytest

from tests.test_cli import COMMANDS, resolve

# Commands whose output scripts parse: each must take -o/--output table|json.
LISTINGS = {
    ("flowtrail", "flows"),
    ("flowtrail", "status"),
    ("flowtrail", "runs"),
    ("flowtrail", "show"),
    ("flowtrail", "tags"),
    ("flowtrail", "tag", "add"),
    ("flowtrail", "tag", "remove"),
    ("flowtrail", "tag", "replace"),
    ("flowtrail", "config", "show"),
}


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_the_example_runs_the_command_itself(path: tuple[str, ...]) -> None:
    command = resolve(path)
    example = (command.help or "").split("Example:", 1)[-1]
    name = " ".join(path)
    assert name in example, f"the example in the help of '{name}' does not use it"


@pytest.mark.parametrize("path", sorted(LISTINGS), ids=" ".join)
def test_listings_offer_json(path: tuple[str, ...]) -> None:
    options = {
        name: param
        for param in resolve(path).params
        if isinstance(param, click.Option)
        for name in param.opts
    }
    assert "-o" in options
    assert "--output" in options
    output = options["--output"]
    assert isinstance(output.type, click.Choice)
    assert list(output.type.choices) == ["table", "json"]
    assert output.default == "table"
