"""``flowtrail tag add|remove|replace`` on a real run: the client sees each change, and a
broken tag rule is a one-line error that changes nothing. ``flowtrail tags`` counts them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from .conftest import History, assert_one_line_error


@pytest.fixture(scope="module")
def unchanged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """One run tagged ``exp``, shared by the tests that must leave its tags alone."""
    found = History(tmp_path_factory.mktemp("tags"))
    found.record("--tag", "exp")
    yield found
    found.close()


def user_tags(history: History) -> list[str]:
    return sorted(history.flow()["1"].user_tags)


def test_add_remove_replace(one_run: History) -> None:
    added = one_run.cli("tag", "add", "ReportFlow/1", "reviewed", "team:ml")
    assert added.exit_code == 0, added.output
    assert added.stdout == "ReportFlow/1 tags: exp, reviewed, team:ml\n"
    assert user_tags(one_run) == ["exp", "reviewed", "team:ml"]

    again = one_run.json("tag", "add", "ReportFlow/1", "reviewed")  # already there: no-op
    assert again["user_tags"] == ["exp", "reviewed", "team:ml"]
    assert again["pathspec"] == "ReportFlow/1"
    assert "runtime:local" in again["system_tags"]

    removed = one_run.json("tag", "remove", "ReportFlow/1", "team:ml", "never-there")
    assert removed["user_tags"] == ["exp", "reviewed"] == user_tags(one_run)

    replaced = one_run.cli(
        "tag", "replace", "ReportFlow/1", "--remove", "exp", "--remove", "reviewed", "--add", "prod"
    )
    assert replaced.exit_code == 0, replaced.output
    assert replaced.stdout == "ReportFlow/1 tags: prod\n"
    assert user_tags(one_run) == ["prod"]
    # Removal comes first: a tag given to both stays.
    both = one_run.json("tag", "replace", "ReportFlow/1", "--remove", "prod", "--add", "prod")
    assert both["user_tags"] == ["prod"]
    emptied = one_run.cli("tag", "remove", "ReportFlow/1", "prod")
    assert emptied.stdout == "ReportFlow/1 tags: (none)\n"
    # The counts follow.
    assert {"tag": "prod", "runs": 1} not in one_run.json("tags")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("add", "ReportFlow/1", "ok", "user:mallory"), "reserved for system tags"),
        (("add", "ReportFlow/1", "x" * 501), "at most 500 characters"),
        (("add", "ReportFlow/1", " "), "must not be empty or blank"),
        (("remove", "ReportFlow/1", "exp", "runtime:local"), "runtime:local"),
        (("replace", "ReportFlow/1", "--remove", "exp", "--add", "user:x"), "reserved"),
        (("replace", "ReportFlow/1"), "needs at least one --remove OLD or --add NEW"),
        (("add", "ReportFlow/7", "x"), "run 'ReportFlow/7' does not exist"),
        (("add", "ReportFlow/1/start", "x"), "expected 'Flow/run_id', got 'ReportFlow/1/start'"),
        (("add", "ReportFlow", "x"), "expected 'Flow/run_id', got 'ReportFlow'"),
    ],
)
def test_a_broken_rule_is_one_line_and_changes_nothing(
    unchanged: History, args: tuple[str, ...], expected: str
) -> None:
    line = assert_one_line_error(unchanged.cli("tag", *args))
    assert expected in line
    assert user_tags(unchanged) == ["exp"]


def test_tags_counts_runs_per_tag(history: History) -> None:
    counts = history.flow().tags()
    listed = history.json("tags", "ReportFlow")
    assert listed == [{"tag": tag, "runs": runs} for tag, runs in counts.items()]
    assert counts["exp"] == 2
    assert counts["keep"] == 1
    assert counts["runtime:local"] == 3
    assert history.json("tags", "--prefix", "ke") == [{"tag": "keep", "runs": 1}]
    table = history.cli("tags", "--prefix", "e")
    assert re.search(r"exp\s+2", table.stdout), table.stdout
    assert history.cli("tags", "--prefix", "zzz").stdout == "no tags starting with 'zzz'\n"
    missing = assert_one_line_error(history.cli("tags", "NoSuchFlow"))
    assert missing == "error: flow 'NoSuchFlow' does not exist"


def test_tag_commands_need_a_tag(unchanged: History) -> None:
    assert unchanged.cli("tag", "add", "ReportFlow/1").exit_code == 2  # a usage error
    assert unchanged.cli("tag", "remove", "ReportFlow/1").exit_code == 2
