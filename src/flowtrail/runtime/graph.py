"""The graph of a flow, read from its source before anything runs.

Each ``@step`` method is parsed (with :mod:`ast`) for its one ``self.next(...)`` call; the
graph is then checked as a whole: ``start`` and ``end`` exist, every target is a step, joins
take ``inputs`` and close exactly one split, and every step is reached. Errors name the step
and its line: ``step 'start' (flow.py:12): self.next(self.trian): no step named 'trian'``.
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn

from flowtrail.errors import InvalidFlow
from flowtrail.model import StepKind

__all__ = ["FlowGraph", "SplitFrame", "StepNode", "Transition"]


class Transition(StrEnum):
    """How a step hands over to the next ones."""

    LINEAR = "linear"
    SPLIT = "split"
    FOREACH = "foreach"
    NONE = "none"  # the end step


@dataclass(frozen=True, slots=True)
class SplitFrame:
    """A split a step is inside of: the step that split, and whether it was a foreach."""

    step: str
    foreach: bool


@dataclass(slots=True)
class StepNode:
    """One step of the graph.

    Attributes:
        name: The method's name.
        func: The undecorated method.
        file: The source file, as given to the user in messages (a base name).
        line: The line of the ``def``.
        next_steps: The targets of its ``self.next``.
        transition: Linear, split, foreach or none (``end``).
        foreach_var: The attribute a foreach iterates over.
        is_join: Whether it takes ``inputs``.
        in_steps: The steps whose ``self.next`` name it.
        stack: The splits it is inside of, outermost first.
        closes: For a join, the split it closes.
        next_line: The line of its ``self.next`` call.
    """

    name: str
    func: Callable[..., Any]
    file: str
    line: int
    next_steps: tuple[str, ...] = ()
    transition: Transition = Transition.NONE
    foreach_var: str | None = None
    is_join: bool = False
    in_steps: list[str] = field(default_factory=list)
    stack: tuple[SplitFrame, ...] = ()
    closes: SplitFrame | None = None
    next_line: int = 0

    @property
    def where(self) -> str:
        """``step 'name' (file:line)``, the prefix of every message about this step."""
        return f"step {self.name!r} ({self.file}:{self.line})"

    @property
    def kind(self) -> StepKind:
        """The kind the history records."""
        if self.name == "start":
            return StepKind.START
        if self.name == "end":
            return StepKind.END
        if self.is_join:
            return StepKind.JOIN
        if self.transition is Transition.FOREACH:
            return StepKind.FOREACH
        if self.transition is Transition.SPLIT:
            return StepKind.SPLIT
        return StepKind.LINEAR


@dataclass(slots=True)
class _NextCall:
    targets: list[str]
    foreach: str | None
    line: int
    text: str


class FlowGraph:
    """The checked graph of a flow class; iterating gives its steps in a topological order."""

    def __init__(self, flow_cls: type, steps: dict[str, Callable[..., Any]]) -> None:
        self.name = flow_cls.__name__
        self.file, self.line, tree = _class_source(flow_cls)
        self.nodes: dict[str, StepNode] = {}
        methods = {
            node.name: node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        for name, func in steps.items():
            self.nodes[name] = self._node(name, func, methods.get(name))
        self._check()
        self.order: list[str] = self._toposort()
        self._stacks()

    def __iter__(self) -> Iterator[StepNode]:
        return (self.nodes[name] for name in self.order)

    def __getitem__(self, name: str) -> StepNode:
        return self.nodes[name]

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def describe(self) -> list[str]:
        """One line per step, in order: its kind and where it goes."""
        lines = []
        for node in self:
            if node.transition is Transition.FOREACH:
                goes = f"→ {node.next_steps[0]} for each item of {node.foreach_var!r}"
            elif node.next_steps:
                goes = "→ " + ", ".join(node.next_steps)
            else:
                goes = "(the end)"
            doc = inspect.getdoc(node.func)
            summary = f"  {doc.splitlines()[0]}" if doc else ""
            lines.append(f"{node.name} [{node.kind.value}] {goes}{summary}")
        return lines

    # -- building ---------------------------------------------------------------------------

    def _node(
        self,
        name: str,
        func: Callable[..., Any],
        method: ast.FunctionDef | ast.AsyncFunctionDef | None,
    ) -> StepNode:
        code = getattr(func, "__code__", None)
        if method is not None:
            line = method.lineno  # the `def` line, not its first decorator's
        else:
            line = code.co_firstlineno if code is not None else self.line
        node = StepNode(name, func, self.file, line)
        params = list(inspect.signature(func).parameters)
        node.is_join = len(params) >= 2 and params[1] == "inputs"
        if len(params) > (2 if node.is_join else 1):
            raise InvalidFlow(
                f"{node.where}: a step takes only self (and inputs, for a join), "
                f"got ({', '.join(params)})"
            )
        calls = _next_calls(method, self.file) if method is not None else []
        if name == "end":
            if calls:
                raise InvalidFlow(
                    f"step 'end' ({self.file}:{calls[0].line}): the end step must not call "
                    "self.next(...)"
                )
            return node
        if not calls:
            raise InvalidFlow(f"{node.where}: the step never calls self.next(...)")
        if len(calls) > 1:
            raise InvalidFlow(
                f"step {name!r} ({self.file}:{calls[1].line}): a step calls self.next(...) "
                f"exactly once, this one calls it {len(calls)} times"
            )
        call = calls[0]
        node.next_line = call.line
        node.next_steps = tuple(call.targets)
        if call.foreach is not None:
            if len(call.targets) != 1:
                raise InvalidFlow(
                    f"step {name!r} ({self.file}:{call.line}): {call.text}: a foreach goes to "
                    f"exactly one step, got {len(call.targets)}"
                )
            node.transition = Transition.FOREACH
            node.foreach_var = call.foreach
        elif len(call.targets) > 1:
            node.transition = Transition.SPLIT
        else:
            node.transition = Transition.LINEAR
        return node

    def _check(self) -> None:
        for required in ("start", "end"):
            if required not in self.nodes:
                raise InvalidFlow(
                    f"flow {self.name!r} ({self.file}:{self.line}): no step named "
                    f"{required!r}; every flow needs a 'start' and an 'end' step"
                )
        for node in self.nodes.values():
            for target in node.next_steps:
                if target not in self.nodes:
                    call = ", ".join(f"self.{t}" for t in node.next_steps)
                    raise InvalidFlow(
                        f"step {node.name!r} ({self.file}:{node.next_line}): "
                        f"self.next({call}): no step named {target!r}"
                    )
                self.nodes[target].in_steps.append(node.name)
        if self.nodes["start"].in_steps:
            raise InvalidFlow(
                f"{self.nodes['start'].where}: no step may go back to 'start', but "
                f"{', '.join(repr(s) for s in self.nodes['start'].in_steps)} does"
            )

    def _toposort(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the path, 2 = done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " → ".join([*path[path.index(name) :], name])
                raise InvalidFlow(f"{self.nodes[name].where}: the steps form a cycle: {cycle}")
            state[name] = 1
            for target in self.nodes[name].next_steps:
                visit(target, [*path, name])
            state[name] = 2
            order.append(name)

        visit("start", [])
        for name, node in self.nodes.items():
            if name not in state:
                raise InvalidFlow(f"{node.where}: the step is never reached from 'start'")
        order.reverse()
        return order

    def _stacks(self) -> None:
        seen: dict[str, tuple[SplitFrame, ...]] = {"start": ()}
        for name in self.order:
            node = self.nodes[name]
            if name != "start":
                incoming = {seen[parent] for parent in node.in_steps}
                if node.is_join:
                    self._join_stack(node, incoming)
                else:
                    if len(node.in_steps) > 1 or len(incoming) > 1:
                        raise InvalidFlow(
                            f"{node.where}: it is reached from "
                            f"{', '.join(repr(s) for s in node.in_steps)}, so it joins them and "
                            f"must take inputs: def {name}(self, inputs)"
                        )
                    node.stack = next(iter(incoming))
            elif node.is_join:
                raise InvalidFlow(f"{node.where}: 'start' cannot be a join")
            out = node.stack
            if node.transition in (Transition.SPLIT, Transition.FOREACH):
                out = (*out, SplitFrame(name, node.transition is Transition.FOREACH))
            seen[name] = out
        if self.nodes["end"].stack:
            self._unclosed(self.nodes["end"])

    def _unclosed(self, end: StepNode) -> NoReturn:
        """The end step is inside a split: name the step that should have closed it."""
        frame = end.stack[-1]
        split = f"{'foreach' if frame.foreach else 'split'} of {frame.step!r}"
        before = self.nodes[end.in_steps[-1]]
        if before.name in self.nodes[frame.step].next_steps:
            raise InvalidFlow(
                f"{end.where}: the end step is inside the {split}; add a join step, "
                f"def join(self, inputs), between {before.name!r} and 'end'"
            )
        raise InvalidFlow(
            f"{before.where}: the end step is inside the {split}: the step that closes it "
            f"must take inputs: def {before.name}(self, inputs)"
        )

    def _join_stack(self, node: StepNode, incoming: set[tuple[SplitFrame, ...]]) -> None:
        if len(incoming) != 1:
            raise InvalidFlow(
                f"{node.where}: it joins steps from different splits "
                f"({', '.join(repr(s) for s in node.in_steps)})"
            )
        stack = next(iter(incoming))
        if not stack:
            raise InvalidFlow(
                f"{node.where}: it takes inputs but joins no split; only a step after a "
                "split or a foreach takes inputs"
            )
        closes = stack[-1]
        split = self.nodes[closes.step]
        if not closes.foreach and len(node.in_steps) != len(split.next_steps):
            raise InvalidFlow(
                f"{node.where}: it joins {len(node.in_steps)} of the "
                f"{len(split.next_steps)} branches of {closes.step!r}"
            )
        node.stack = stack[:-1]
        node.closes = closes


def _class_source(flow_cls: type) -> tuple[str, int, ast.ClassDef]:
    try:
        lines, start = inspect.getsourcelines(flow_cls)
        path = inspect.getsourcefile(flow_cls) or "<unknown>"
    except (OSError, TypeError) as exc:
        raise InvalidFlow(
            f"flow {flow_cls.__name__!r}: its source cannot be read ({exc}); define the flow "
            "in a file or a notebook cell"
        ) from exc
    tree = ast.parse(textwrap.dedent("".join(lines)))
    cls_node = tree.body[0]
    assert isinstance(cls_node, ast.ClassDef)
    ast.increment_lineno(tree, start - 1)
    return os.path.basename(path), start, cls_node


def _next_calls(method: ast.FunctionDef | ast.AsyncFunctionDef, file: str) -> list[_NextCall]:
    calls = []
    for sub in ast.walk(method):
        if not (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr == "next"
            and isinstance(sub.func.value, ast.Name)
            and sub.func.value.id == "self"
        ):
            continue
        targets = []
        for arg in sub.args:
            if (
                isinstance(arg, ast.Attribute)
                and isinstance(arg.value, ast.Name)
                and arg.value.id == "self"
            ):
                targets.append(arg.attr)
            else:
                raise InvalidFlow(
                    f"step {method.name!r} ({file}:{sub.lineno}): self.next(...) takes steps "
                    f"as self.<step>, got {ast.unparse(arg)}"
                )
        foreach = None
        for kw in sub.keywords:
            if kw.arg == "foreach" and isinstance(kw.value, ast.Constant):
                foreach = str(kw.value.value)
            else:
                raise InvalidFlow(
                    f"step {method.name!r} ({file}:{sub.lineno}): self.next(...) takes only "
                    f"foreach='<attribute name>', got {ast.unparse(kw)}"
                )
        calls.append(_NextCall(targets, foreach, sub.lineno, ast.unparse(sub)))
    return calls
