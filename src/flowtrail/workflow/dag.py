"""Authoring: ``@workflow.task`` turns a function into a :class:`WorkflowTask`; its
``.bind(...)`` builds a :class:`WorkflowNode` of the DAG a workflow runs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, ParamSpec, TypeVar, overload

from flowtrail.workflow.options import TaskOptions

__all__ = ["WorkflowNode", "WorkflowTask", "task"]

P = ParamSpec("P")
R = TypeVar("R")


class WorkflowTask(Generic[P, R]):
    """A function made a workflow task. ``.bind(...)`` makes a DAG node of one call;
    ``.options(...)`` returns a copy with other options. Call the function itself as
    ``task.func(...)``."""

    def __init__(self, func: Callable[P, R], task_options: TaskOptions) -> None:
        if not callable(func):
            raise TypeError(f"@workflow.task decorates a function, got {func!r:.60}")
        self.func = func
        self.task_options = task_options
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def bind(self, *args: Any, **kwargs: Any) -> WorkflowNode:
        """A DAG node calling the function with these arguments. An argument may be another
        node, also inside a list, tuple, set or dict: the function then gets that node's
        output, and the node runs first."""
        return WorkflowNode(self.func, self.task_options, args, kwargs)

    def options(self, **given: Any) -> WorkflowTask[P, R]:
        """A copy with these options (``max_retries``, ``retry_exceptions``,
        ``catch_exceptions``, ``checkpoint``, ``task_id``, ``metadata``, or
        ``**workflow.options(...)``).

        Raises:
            ValueError: an unknown option or a value of the wrong type.
        """
        return WorkflowTask(self.func, self.task_options.updated(given))

    def __repr__(self) -> str:
        return f"WorkflowTask({getattr(self.func, '__qualname__', self.func)!r})"


class WorkflowNode:
    """One call of a task in a DAG: what ``WorkflowTask.bind`` returns.

    Attributes:
        func: The function.
        task_options: Its options.
        args: The positional arguments (nodes among them stand for their outputs).
        kwargs: The keyword arguments.
        upstream: The nodes found in the arguments, in the order they appear.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        task_options: TaskOptions,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> None:
        self.func = func
        self.task_options = task_options
        self.args = args
        self.kwargs = dict(kwargs)
        found: dict[int, WorkflowNode] = {}
        for node in _nodes_in((args, self.kwargs)):
            found.setdefault(id(node), node)
        self.upstream: tuple[WorkflowNode, ...] = tuple(found.values())

    def options(self, **given: Any) -> WorkflowNode:
        """The same call with other options."""
        return WorkflowNode(self.func, self.task_options.updated(given), self.args, self.kwargs)

    def __repr__(self) -> str:
        return f"WorkflowNode({getattr(self.func, '__qualname__', self.func)!r})"

    def __reduce__(self) -> Any:
        raise TypeError(
            "a workflow node cannot be pickled: pass it to .bind() directly, or inside a "
            "list, tuple, set or dict"
        )


def _nodes_in(value: Any) -> Iterator[WorkflowNode]:
    if isinstance(value, WorkflowNode):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _nodes_in(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes_in(key)
            yield from _nodes_in(item)


@overload
def task(func: Callable[P, R], /) -> WorkflowTask[P, R]: ...


@overload
def task(
    *,
    max_retries: int = ...,
    retry_exceptions: bool = ...,
    catch_exceptions: bool = ...,
    checkpoint: bool = ...,
    **options: Any,
) -> Callable[[Callable[P, R]], WorkflowTask[P, R]]: ...


def task(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make a function a workflow task: ``@workflow.task`` or ``@workflow.task(...)`` with
    the options of :meth:`WorkflowTask.options`.

    Raises:
        ValueError: an unknown option or a value of the wrong type.
    """
    task_options = TaskOptions().updated(options)
    if func is not None:
        return WorkflowTask(func, task_options)

    def decorate(fn: Callable[P, R]) -> WorkflowTask[P, R]:
        return WorkflowTask(fn, task_options)

    return decorate
