"""Finding the surrogate keys of flows, runs, steps and tasks from their pathspecs, with
``NotFound`` errors that say which level is missing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from flowtrail.errors import NotFound
from flowtrail.model import Level, Pathspec
from flowtrail.store.sql.schema import flows, runs, steps, tasks

__all__ = ["Keys", "find_flow_pk", "flow_pk", "run_row"]


def find_flow_pk(conn: Connection, name: str) -> int | None:
    """The key of flow ``name``, or ``None`` when there is no such flow."""
    pk = conn.execute(sa.select(flows.c.pk).where(flows.c.name == name)).scalar_one_or_none()
    return None if pk is None else int(pk)


def flow_pk(conn: Connection, name: str) -> int:
    """The key of flow ``name``.

    Raises:
        NotFound: no such flow.
    """
    pk = find_flow_pk(conn, name)
    if pk is None:
        raise NotFound(f"flow {name!r} does not exist", details={"pathspec": name})
    return int(pk)


def run_row(conn: Connection, run: Pathspec, *, for_update: bool = False) -> Row[Any]:
    """The ``runs`` row of ``Flow/run_id``.

    Raises:
        NotFound: no such flow, or no such run in it.
    """
    run.expect(Level.RUN)
    stmt = (
        sa.select(runs)
        .join(flows, flows.c.pk == runs.c.flow_pk)
        .where(flows.c.name == run.flow, runs.c.run_id == run.run_id)
    )
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=runs)
    row = conn.execute(stmt).one_or_none()
    if row is None:
        flow_pk(conn, run.flow)  # raises if it is the flow that is missing
        raise NotFound(
            f"run {str(run)!r} does not exist in flow {run.flow!r}",
            details={"pathspec": str(run)},
        )
    return row


@dataclass
class Keys:
    """Resolves and remembers keys within one transaction (a batch names the same run,
    steps and tasks many times; each is looked up once)."""

    conn: Connection
    run: Pathspec
    run_pk: int
    flow_pk: int
    _steps: dict[str, int] = field(default_factory=dict)
    _tasks: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: Keys of the tasks created in this transaction: they have no records yet.
    created_tasks: set[int] = field(default_factory=set)

    @classmethod
    def for_run(cls, conn: Connection, run: Pathspec) -> Keys:
        """Resolve the run first.

        Raises:
            NotFound: no such run.
        """
        row = run_row(conn, run)
        return cls(conn, run, int(row.pk), int(row.flow_pk))

    def step_pk(self, step: Pathspec) -> int:
        """The key of a step of this run.

        Raises:
            NotFound: no such step.
        """
        name = step.expect(Level.STEP).step
        assert name is not None
        if name not in self._steps:
            pk = self.conn.execute(
                sa.select(steps.c.pk).where(steps.c.run_pk == self.run_pk, steps.c.name == name)
            ).scalar_one_or_none()
            if pk is None:
                raise NotFound(
                    f"step {str(step)!r} does not exist in run {str(self.run)!r}",
                    details={"pathspec": str(step)},
                )
            self._steps[name] = int(pk)
        return self._steps[name]

    def remember_step(self, name: str, pk: int) -> None:
        """Note a step created in this transaction."""
        self._steps[name] = pk

    def task_pk(self, task: Pathspec) -> int:
        """The key of a task of this run, checking that it belongs to the step named.

        Raises:
            NotFound: no such task in that step.
        """
        task_id = task.task_id
        if task_id is None or task.artifact is not None:
            task.expect(Level.TASK)  # raises with the expected shape
        assert task_id is not None
        if task_id not in self._tasks:
            row = self.conn.execute(
                sa.select(tasks.c.pk, steps.c.name)
                .join(steps, steps.c.pk == tasks.c.step_pk)
                .where(tasks.c.run_pk == self.run_pk, tasks.c.task_id == task_id)
            ).one_or_none()
            if row is not None:
                self._tasks[task_id] = (int(row.pk), row.name)
        found = self._tasks.get(task_id)
        if found is None or found[1] != task.step:
            raise NotFound(
                f"task {str(task)!r} does not exist"
                + (f" (task {task_id!r} of this run is in step {found[1]!r})" if found else ""),
                details={"pathspec": str(task)},
            )
        return found[0]

    def remember_task(self, task_id: str, pk: int, step_name: str) -> None:
        """Note a task created in this transaction."""
        self._tasks[task_id] = (pk, step_name)
        self.created_tasks.add(pk)
