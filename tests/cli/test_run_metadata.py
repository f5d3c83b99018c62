"""A run's own metadata, on a real workflow run: what ``workflow.run(..., metadata=...)``
recorded is what ``Run.metadata`` reads, what ``flowtrail runs --where "metadata.…"`` finds by,
and what ``flowtrail show RUN`` prints, in JSON and in its table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowtrail import workflow
from flowtrail.client import Run
from flowtrail.config import resolve_settings

from .conftest import History


@pytest.fixture
def sums(tmp_path: Path) -> Iterator[History]:
    """A history holding one workflow, ``add/sums``, run with run metadata (``owner``,
    ``budget``) and task metadata on its output task (``k1``)."""

    @workflow.task
    def double(x: int) -> int:
        return 2 * x

    @workflow.task
    def add(a: int, b: int) -> int:
        return a + b

    found = History(tmp_path)
    total = add.options(**workflow.options(task_id="total", metadata={"k1": "v1"}))
    dag = total.bind(double.bind(2), double.bind(3))
    settings = resolve_settings(env={}, cwd=tmp_path)
    metadata = {"owner": "me", "budget": 3}
    assert workflow.run(dag, workflow_id="sums", metadata=metadata, settings=settings) == 10
    yield found
    found.close()


def _run(history: History) -> Run:
    return Run("add/sums", provider=history.provider, _current_namespace=None)


def test_the_client_reads_the_runs_own_metadata(sums: History) -> None:
    run = _run(sums)
    user = {m.name: m.value for m in run.metadata if m.type == "user"}
    assert user == {"owner": "me", "budget": 3}
    assert run.metadata_dict["owner"] == "me"
    assert run.metadata_dict["budget"] == 3
    assert {m.pathspec for m in run.metadata} == {"add/sums"}
    assert {m.attempt for m in run.metadata} == {None}
    assert "k1" not in run.metadata_dict  # a task's metadata is the task's
    total = run["total"].task
    assert total is not None
    assert total.metadata_dict["k1"] == "v1"
    assert "owner" not in total.metadata_dict


def test_show_prints_the_metadata_the_search_finds_by(sums: History) -> None:
    found = sums.json("runs", "--where", "metadata.owner = 'me'")
    assert [r["pathspec"] for r in found] == ["add/sums"]

    run = _run(sums)
    shown = sums.json("show", "add/sums")
    expected: list[dict[str, Any]] = [
        {
            "name": m.name,
            "value": m.value,
            "type": m.type,
            "value_type": m.value_type.value,
            "attempt": None,
            "created_at": m.created_at.isoformat(),
        }
        for m in run.metadata
    ]
    assert shown["metadata"] == expected
    assert {"name": "owner", "value": "me", "type": "user", "value_type": "text"}.items() <= (
        next(m for m in shown["metadata"] if m["name"] == "owner").items()
    )
    assert shown["metadata_dict"] == run.metadata_dict
    assert shown["metadata_dict"]["budget"] == 3
    assert shown["flow_metadata"] == {}

    table = sums.cli("show", "add/sums")
    assert table.exit_code == 0, table.output
    assert "run metadata" in table.stdout
    for pattern in (r"owner\s+me\s+user\s+\d{4}-", r"budget\s+3\s+user\s+\d{4}-"):
        assert re.search(pattern, table.stdout), (pattern, table.stdout)
