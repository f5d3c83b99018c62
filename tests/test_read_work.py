"""How the work of a read below a run grows with what a task holds, counted in SQLite's
virtual machine instructions (a progress handler called at each): deterministic, where a
timing is not. A page of a task's artifacts must grow with the artifacts it lists and the
rows it passes over, not with their product (a subquery read again for each row did)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from flowtrail.model import (
    Level,
    NewArtifact,
    NewRun,
    NewStep,
    NewTask,
    PageRequest,
    Pathspec,
    StepKind,
)
from flowtrail.store import SqlStore
from flowtrail.store.sql import create_engine, upgrade

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class _Steps:
    """Counts the instructions SQLite runs on the engine's connections while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.count = 0

    def install(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_progress_handler(self._step, 1)

    def _step(self) -> int:
        if self.on:
            self.count += 1
        return 0  # go on


def _instructions_for_artifacts(folder: Path, names: int) -> int:
    """Instructions of ``find_artifacts`` (latest attempt, first page) for a task with
    ``names`` artifacts in attempt 0 and one in attempt 1."""
    url = f"sqlite:///{folder / f'n{names}.db'}"
    schema = create_engine(url)
    upgrade(schema)
    schema.dispose()
    engine = create_engine(url)
    steps = _Steps()
    sa.event.listen(engine, "connect", steps.install)  # before any connection is made
    store = SqlStore(engine)
    try:
        task = Pathspec.parse("F/1/s/1")
        store.create_run(NewRun("F"))
        store.create_step(NewStep(task.truncate(Level.STEP), StepKind.START))
        store.create_task(NewTask(task))
        sha = "0" * 64
        store.record_artifacts(
            [
                NewArtifact(task.child(f"n{i:05d}"), 0, sha, 1, "builtins.int", "json", i, T0)
                for i in range(names)
            ]
        )
        store.record_artifacts(
            [NewArtifact(task.child("zzz"), 1, sha, 1, "builtins.int", "json", 1, T0)]
        )
        store.find_artifacts(task, PageRequest(10))  # compiled, connections open
        steps.on = True
        page = store.find_artifacts(task, PageRequest(10))
        steps.on = False
        assert [a.name for a in page] == ["zzz"]
        return steps.count
    finally:
        store.close()


def test_a_page_of_artifacts_grows_linearly_with_the_artifacts_passed_over(
    tmp_path: Path,
) -> None:
    small = _instructions_for_artifacts(tmp_path, 50)
    big = _instructions_for_artifacts(tmp_path, 400)
    # Eight times the rows: at most eight times the work (a quadratic read is 64 times).
    assert big < 8 * small, (small, big)
