"""From a DAG to a plan: every node gets its task id (Ray's rules) and its step name, and its
call is pickled by value, so the workflow can run — and resume — in any process."""

from __future__ import annotations

import functools
import io
import keyword
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flowtrail.errors import InvalidArgument
from flowtrail.workflow.dag import WorkflowNode
from flowtrail.workflow.options import TaskOptions

__all__ = ["Plan", "PlannedTask", "default_task_id", "plan_dag"]

_MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """One task of a workflow.

    Attributes:
        task_id: Its id in the workflow (also its task id in the history).
        step: The step that holds it in the history (a Python identifier).
        upstream: The ids of the tasks whose outputs are in its arguments.
        options: Its options.
        payload: ``(function, args, kwargs)`` pickled by value; upstream outputs are
            persistent ids (their task ids).
    """

    task_id: str
    step: str
    upstream: tuple[str, ...]
    options: TaskOptions
    payload: bytes


@dataclass(frozen=True, slots=True)
class Plan:
    """A workflow's tasks, upstream first, and the task whose output is the workflow's."""

    tasks: tuple[PlannedTask, ...]
    output: str

    def by_id(self) -> dict[str, PlannedTask]:
        """The tasks by id."""
        return {t.task_id: t for t in self.tasks}

    def downstream(self, task_id: str) -> tuple[str, ...]:
        """The tasks that take ``task_id``'s output."""
        return tuple(t.task_id for t in self.tasks if task_id in t.upstream)


def default_task_id(func: Any) -> str:
    """Ray's default task id: ``module.`` and the qualname slugified as Ray does (characters
    other than ASCII word characters, ``.`` and ``-`` dropped: ``f.<locals>.<lambda>`` becomes
    ``f.locals.lambda``; runs of ``-`` and whitespace become one ``-``)."""
    module = getattr(func, "__module__", None) or "__main__"
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[-\s]+", "-", re.sub(r"[^\w.\-]", "", ascii_name).strip())
    return f"{module}.{slug}"


def plan_dag(dag: WorkflowNode) -> Plan:
    """Number the DAG's tasks upstream first and pickle their calls.

    Raises:
        TypeError: ``dag`` is not a node made by ``.bind(...)``.
        InvalidArgument: a task's function or arguments cannot be pickled.
    """
    if not isinstance(dag, WorkflowNode):
        raise TypeError(
            f"workflow.run takes a DAG node made by task.bind(...), got {type(dag).__name__}"
        )
    order = _upstream_first(dag)
    ids: dict[int, str] = {}
    counters: dict[str, int] = {}
    taken_steps: set[str] = set()
    planned = []
    for node in order:
        base = node.task_options.task_id or default_task_id(node.func)
        task_id = base
        while task_id in ids.values():
            counters[base] = counters.get(base, 0) + 1
            task_id = f"{base}_{counters[base]}"
        ids[id(node)] = task_id
        step = _step_name(task_id, taken_steps)
        taken_steps.add(step)
        planned.append(
            PlannedTask(
                task_id,
                step,
                tuple(ids[id(up)] for up in node.upstream),
                node.task_options,
                _payload(node, ids, task_id),
            )
        )
    return Plan(tuple(planned), ids[id(dag)])


def _upstream_first(root: WorkflowNode) -> list[WorkflowNode]:
    order: list[WorkflowNode] = []
    done: set[int] = set()
    started: set[int] = set()
    stack: list[tuple[WorkflowNode, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        if id(node) in started:
            continue
        started.add(id(node))
        stack.append((node, True))
        stack.extend((up, False) for up in reversed(node.upstream) if id(up) not in done)
    return order


def _step_name(task_id: str, taken: set[str]) -> str:
    """A step name for the task: its last dotted part (``add`` for ``__main__.add``) made an
    identifier, else the whole id, else numbered."""
    candidates = [_identifier(task_id.rsplit(".", 1)[-1]), _identifier(task_id)]
    for name in candidates:
        if name not in taken:
            return name
    number = 1
    while f"{candidates[1][: _MAX_NAME - 8]}_{number}" in taken:
        number += 1
    return f"{candidates[1][: _MAX_NAME - 8]}_{number}"


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text, flags=re.ASCII) or "_"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "_" + name
    return name[:_MAX_NAME]


@functools.cache
def _pickler_class() -> type:
    import cloudpickle

    class _Pickler(cloudpickle.Pickler):  # type: ignore[misc]
        """Pickles a call by value; each upstream node becomes its task id."""

        def __init__(self, file: io.BytesIO, ids: dict[int, str]) -> None:
            super().__init__(file, protocol=5)
            self.ids = ids

        def persistent_id(self, obj: Any) -> str | None:
            if isinstance(obj, WorkflowNode):
                return self.ids.get(id(obj))
            return None

    return _Pickler


def _payload(node: WorkflowNode, ids: dict[int, str], task_id: str) -> bytes:
    buffer = io.BytesIO()
    try:
        _pickler_class()(buffer, ids).dump((node.func, node.args, node.kwargs))
    except Exception as exc:
        raise InvalidArgument(
            f"task {task_id!r}: its function or arguments cannot be pickled: "
            f"{type(exc).__name__}: {exc}",
            details={"task_id": task_id},
        ) from exc
    return buffer.getvalue()
