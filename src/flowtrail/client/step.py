"""``Step``: a step of a run, a container of its tasks (several for a foreach)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowtrail.client.base import Container, Context, RunScoped, paged
from flowtrail.model import Level, PageRequest, StepKind, StepRecord

if TYPE_CHECKING:
    from flowtrail.client.run import Run
    from flowtrail.client.task import Task

__all__ = ["Step"]


class Step(RunScoped, Container["Task"]):
    """A step of a run. A container of its :class:`Task` objects, oldest first (for a
    foreach, in the order they were created).

    Args:
        pathspec: ``'TrainFlow/12/train'``.

    Raises:
        NotFound: no such step.
        NamespaceMismatch: its run is outside the current namespace.

    Example:
        ``Step('TrainFlow/12/train').task``, ``[t.index for t in Step('TrainFlow/12/train')]``.
    """

    _level = Level.STEP

    def _load(self, namespace_check: bool) -> None:
        self._record = self._store.get_step(self._spec)
        if namespace_check:
            self._ctx.check_run_of(self, self._run_spec)

    @classmethod
    def _from_record(cls, ctx: Context, record: StepRecord) -> Step:
        step = cls.__new__(cls)
        step._init(ctx, record.pathspec)
        step._record = record
        return step

    @property
    def created_at(self) -> datetime:
        """When the step was recorded."""
        return self._record.created_at

    @property
    def parent(self) -> Run:
        """The run of this step."""
        from flowtrail.client.run import Run

        return self._open(Run, self._run_spec)

    @property
    def kind(self) -> StepKind:
        """How the step continues: start, linear, split, foreach, join or end."""
        return self._record.kind

    @property
    def next_steps(self) -> tuple[str, ...]:
        """The names of the steps it leads to."""
        return self._record.next_steps

    @property
    def task(self) -> Task | None:
        """The first task of the step: for a step that is not a foreach, its only task.
        ``None`` before any task was recorded."""
        from flowtrail.client.task import Task

        page = self._store.find_tasks(self._spec, PageRequest(1))
        return Task._from_record(self._ctx, page.items[0]) if page.items else None

    @property
    def finished_at(self) -> datetime | None:
        """When the latest of its tasks finished (this may move while a foreach runs), or
        ``None`` while none has finished. One query, read again at each access."""
        self._record = self._store.get_step(self._spec)
        return self._record.finished_at

    @property
    def environment_info(self) -> dict[str, Any]:
        """The execution environment of its first task (see ``Task.environment_info``)."""
        task = self.task
        return {} if task is None else task.environment_info

    @property
    def origin_pathspec(self) -> str | None:
        """For a step cloned by a resume, the same step of the original run."""
        task = self.task
        origin = None if task is None else task.origin_pathspec
        return None if origin is None else origin.rsplit("/", 1)[0]

    def _children(self) -> Iterator[Task]:
        from flowtrail.client.task import Task

        for record in paged(lambda page: self._store.find_tasks(self._spec, page)):
            yield Task._from_record(self._ctx, record)

    def tasks(self, *tags: str) -> Iterator[Task]:
        """Its tasks, oldest first, if the run carries every tag given (tags belong to
        runs: either every task matches or none does)."""
        return self._children() if set(tags) <= self.tags else iter(())

    def _child(self, name: str) -> Task:
        from flowtrail.client.task import Task

        return Task._from_record(self._ctx, self._store.get_task(self._spec.child(name)))
