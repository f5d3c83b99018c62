"""Resume: which tasks of an earlier run a new run takes over, and the records that take them
over. A cloned task points at the same blobs (no artifact bytes are copied); its attempt,
metadata and log lines are recorded again under the new task, with ``origin_pathspec`` set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowtrail.errors import InvalidArgument
from flowtrail.model import (
    AttemptEnd,
    ForeachFrame,
    LogStream,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    Pathspec,
    RunRecord,
    Status,
    TaskRecord,
    iter_pages,
)
from flowtrail.runtime.graph import FlowGraph
from flowtrail.runtime.messages import ArtifactRef
from flowtrail.store import MetadataStore

__all__ = ["Clone", "Copied", "Origin"]

_PAGE = 1000  # rows per page when reading a whole origin task or run


@dataclass(frozen=True, slots=True)
class Clone:
    """An origin task to take over."""

    task: TaskRecord


@dataclass(frozen=True, slots=True)
class Copied:
    """The records that take one origin task over in the new run."""

    attempt: NewAttempt
    attempt_end: AttemptEnd
    metadata: tuple[NewMetadata, ...]
    artifacts: tuple[NewArtifact, ...]
    log_lines: tuple[NewLogLine, ...]
    view: dict[str, ArtifactRef]
    splits: int | None


class Origin:
    """The run being resumed, and the step from which the new run runs again.

    Args:
        store: The metadata store.
        run: The origin run's record.
        graph: The flow's graph (of the code now).
        step: Resume from this step; by default the first step (in graph order) with a task
            that did not succeed.

    Raises:
        InvalidArgument: the step is not in the flow, or the run has nothing to resume.
    """

    def __init__(
        self, store: MetadataStore, run: RunRecord, graph: FlowGraph, step: str | None = None
    ) -> None:
        self.store = store
        self.record = run
        self.run_id = run.pathspec.run_id or ""
        self._tasks: dict[tuple[str, tuple[int, ...]], TaskRecord] = {}
        by_step: dict[str, list[TaskRecord]] = {}
        for task in iter_pages(lambda page: store.find_tasks(run.pathspec, page), _PAGE, _PAGE):
            step_name = task.pathspec.step or ""
            by_step.setdefault(step_name, []).append(task)
            self._tasks[(step_name, _indices(task.foreach_stack))] = task
        if step is not None:
            if step not in graph:
                raise InvalidArgument(
                    f"--step {step!r}: the flow has no such step; its steps are "
                    f"{', '.join(graph.order)}"
                )
            self.step = step
        else:
            self.step = self._first_unfinished(graph, by_step)
        reached = _reachable(graph, self.step)
        self.clone_steps = frozenset(name for name in graph.order if name not in reached)

    def _first_unfinished(self, graph: FlowGraph, by_step: dict[str, list[TaskRecord]]) -> str:
        for name in graph.order:
            tasks = by_step.get(name, [])
            if not tasks or any(t.status is not Status.SUCCEEDED for t in tasks):
                return name
        raise InvalidArgument(
            f"run {self.record.pathspec} succeeded: nothing to resume; pass --step STEP to run "
            "again from a step"
        )

    def clone_for(self, step: str, stack: tuple[ForeachFrame, ...]) -> Clone | None:
        """The origin task to take over for a new task, if it is before the resume step and
        succeeded."""
        if step not in self.clone_steps:
            return None
        task = self._tasks.get((step, _indices(stack)))
        if task is None or task.status is not Status.SUCCEEDED:
            return None
        return Clone(task)

    def copy(self, clone: Clone, target: Pathspec, at: datetime) -> Copied:
        """The records of ``clone``'s latest attempt, rewritten for the task ``target``.

        The new attempt starts and ends ``at``, when the copy is made, like the new task:
        its times agree with each other and with the new run's (the original's stay the
        origin task's, and in the copied metadata)."""
        source = clone.task.pathspec
        attempt = self.store.get_attempt(source)
        number = attempt.number
        metadata = []
        splits: int | None = None
        for entry in iter_pages(
            lambda page: self.store.find_metadata(source, page, attempt=number), _PAGE, _PAGE
        ):
            value: Any = entry.value
            metadata.append(
                NewMetadata(target, entry.field_name, value, entry.type, number, entry.created_at)
            )
            if entry.field_name == "foreach_splits":
                splits = int(entry.value.to_number() or 0)
        artifacts = []
        view: dict[str, ArtifactRef] = {}
        for art in iter_pages(
            lambda page: self.store.find_artifacts(source, page, attempt=number), _PAGE, _PAGE
        ):
            name = art.pathspec.artifact or ""
            artifacts.append(
                NewArtifact(
                    target.child(name),
                    number,
                    art.sha,
                    art.size,
                    art.python_type,
                    art.encoding,
                    art.value,
                    art.created_at,
                )
            )
            view[name] = ArtifactRef(art.sha, art.size, art.python_type, art.encoding, art.value)
        lines: list[NewLogLine] = []
        for stream in LogStream:
            offset = 0
            while True:
                chunk = self.store.read_log_lines(
                    source, attempt=number, stream=stream, offset=offset
                )
                lines.extend(
                    NewLogLine(target, number, stream, line.seq, line.text, line.created_at)
                    for line in chunk
                )
                if len(chunk) < 1000:
                    break
                offset = chunk[-1].seq + 1
        return Copied(
            NewAttempt(target, number, attempt.host, attempt.pid, at),
            AttemptEnd(target, number, Status.SUCCEEDED, finished_at=at),
            tuple(metadata),
            tuple(artifacts),
            tuple(lines),
            view,
            splits,
        )


def _indices(stack: tuple[ForeachFrame, ...]) -> tuple[int, ...]:
    return tuple(frame.index for frame in stack)


def _reachable(graph: FlowGraph, step: str) -> set[str]:
    seen = {step}
    todo = [step]
    while todo:
        for target in graph[todo.pop()].next_steps:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen
