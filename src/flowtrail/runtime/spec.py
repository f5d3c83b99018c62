"""Authoring: ``FlowSpec``, ``@step``, ``self.next(...)``, joins and their ``inputs``.

A flow is a class; its steps are methods marked ``@step``. While a task runs, the instance
reads the artifacts it inherits lazily from the blob store, and every public attribute a step
sets becomes an artifact of its task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from flowtrail.errors import ArtifactError, InvalidFlow
from flowtrail.runtime.current import current
from flowtrail.runtime.definition import declare
from flowtrail.runtime.messages import ArtifactRef, View
from flowtrail.runtime.parameters import Parameter

__all__ = ["FlowSpec", "Inputs", "step"]

F = TypeVar("F", bound=Callable[..., Any])
_STEP = "_flowtrail_step"
# Names a step cannot use for artifacts: the FlowSpec's own attributes.
_RESERVED = frozenset({"next", "input", "index", "merge_artifacts", "set_metadata"})


def step(func: F) -> F:
    """Mark a method of a :class:`FlowSpec` as a step."""
    if not callable(func):
        raise InvalidFlow(f"@step decorates a method, got {func!r}")
    setattr(func, _STEP, True)
    return func


def is_step(obj: object) -> bool:
    """Whether ``obj`` is a function marked ``@step``."""
    return callable(obj) and getattr(obj, _STEP, False) is True


class _TaskState:
    """What one instance knows while a task runs (or while it stands for a join input)."""

    __slots__ = (
        "index",
        "input_ref",
        "load",
        "loaded",
        "next_call",
        "parameters",
        "read_only",
        "set_names",
        "step_name",
        "view",
    )

    def __init__(
        self,
        step_name: str,
        view: View,
        load: Callable[[ArtifactRef], Any],
        parameters: Mapping[str, Any],
        read_only: bool = False,
    ) -> None:
        self.step_name = step_name
        self.view = dict(view)
        self.load = load
        self.parameters = parameters
        self.read_only = read_only
        self.loaded: dict[str, Any] = {}
        self.set_names: set[str] = set()
        self.next_call: tuple[tuple[str, ...], str | None] | None = None
        self.index: int | None = None
        self.input_ref: tuple[ArtifactRef, int] | None = None


class FlowSpec:
    """The base class of every flow.

    Subclass it, mark steps with ``@step``, and end the file with
    ``if __name__ == "__main__": MyFlow()`` to get ``python flow.py run``, ``resume``,
    ``show`` and ``--help``.

    The class statement may also give flow metadata and default run tags, as Dagster's
    ``@job`` does::

        class TrainFlow(FlowSpec, metadata={"owner": "data team"}, tags={"team": "ml"}):
            ...

    Metadata values are :class:`~flowtrail.model.MetadataValue` or plain values converted to
    one; tags are a dict (``key:value`` tags) or a list. Both are checked before a run.
    """

    _flowtrail_graph: ClassVar[Any] = None

    def __init_subclass__(cls, metadata: Any = None, tags: Any = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if metadata is not None or tags is not None:
            declare(cls, metadata, tags)

    def __init__(self, use_cli: bool = True) -> None:
        object.__setattr__(self, "_ft", None)
        if use_cli:
            from flowtrail.runtime.cli import main

            main(type(self))

    # -- the class as a whole ---------------------------------------------------------------

    @classmethod
    def _steps(cls) -> dict[str, Callable[..., Any]]:
        found: dict[str, Callable[..., Any]] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if is_step(value):
                    found[name] = value
        return found

    @classmethod
    def _parameters(cls) -> dict[str, Parameter]:
        found: dict[str, Parameter] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, Parameter):
                    found[value.name] = value
        return found

    # -- while a task runs ------------------------------------------------------------------

    def _flowtrail_enter(self, state: _TaskState) -> None:
        object.__setattr__(self, "_ft", state)

    def _flowtrail_parameters(self) -> Mapping[str, Any]:
        state = self._state()
        return state.parameters if state is not None else {}

    def _state(self) -> _TaskState | None:
        return self.__dict__.get("_ft")

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: an artifact not yet read in this task.
        if name.startswith("__"):
            raise AttributeError(name)
        state = self.__dict__.get("_ft")
        if state is not None and name in state.view:
            value = state.load(state.view[name])
            state.loaded[name] = value
            self.__dict__[name] = value
            return value
        where = f" in step {state.step_name!r}" if state is not None else ""
        raise AttributeError(f"{type(self).__name__!r} has no artifact {name!r}{where}")

    def __setattr__(self, name: str, value: Any) -> None:
        state = self._state()
        if not name.startswith("_") and state is not None:
            if state.read_only:
                raise AttributeError(
                    f"the input from step {state.step_name!r} is read-only; set {name!r} on "
                    "self instead"
                )
            if name in _RESERVED or isinstance(getattr(type(self), name, None), Parameter):
                raise ArtifactError(
                    f"step {state.step_name!r}: {name!r} is a reserved name and cannot be "
                    "an artifact"
                )
            state.set_names.add(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        state = self._state()
        if state is not None and name in state.view:
            del state.view[name]
            state.loaded.pop(name, None)
            state.set_names.discard(name)
        self.__dict__.pop(name, None)

    def __dir__(self) -> Iterable[str]:
        state = self._state()
        names = set(super().__dir__())
        if state is not None:
            names.update(state.view)
        return sorted(names)

    def next(self, *steps: Callable[..., Any], foreach: str | None = None) -> None:
        """Say which step(s) run next; ``foreach='items'`` runs the one step per item."""
        state = self._state()
        if state is None:
            raise RuntimeError("self.next(...) works only inside a running step")
        names = []
        for target in steps:
            name = getattr(target, "__name__", None)
            if not is_step(getattr(target, "__func__", target)) or name is None:
                raise InvalidFlow(
                    f"step {state.step_name!r}: self.next(...) takes steps as self.<step>, "
                    f"got {target!r}"
                )
            names.append(name)
        state.next_call = (tuple(names), foreach)

    @property
    def input(self) -> Any:
        """In a foreach task, its item of the list iterated over."""
        state = self._state()
        if state is None or state.input_ref is None:
            return None
        ref, index = state.input_ref
        items = state.load(ref)
        return list(items)[index]

    @property
    def index(self) -> int | None:
        """In a foreach task, its position in the list iterated over."""
        state = self._state()
        return state.index if state is not None else None

    def set_metadata(self, key: str, value: Any) -> None:
        """Record a user metadata entry on the running task and attempt."""
        current.set_metadata(key, value)

    def merge_artifacts(
        self,
        inputs: Inputs,
        exclude: Iterable[str] = (),
        include: Iterable[str] = (),
    ) -> None:
        """In a join, take over the inputs' artifacts.

        An artifact with the same value in every input that has it is copied (by reference:
        no bytes are read). An artifact whose values differ must be set in the join before the
        call, or be excluded; otherwise :class:`ArtifactError` names it.

        Args:
            inputs: The join's ``inputs``.
            exclude: Artifacts not to merge.
            include: Only these artifacts (all when empty).
        """
        state = self._state()
        if state is None:
            raise RuntimeError("merge_artifacts(...) works only inside a running join step")
        skip = set(exclude)
        only = set(include)
        if skip & only:
            raise InvalidFlow(
                f"step {state.step_name!r}: merge_artifacts: {sorted(skip & only)} both "
                "included and excluded"
            )
        found: dict[str, list[tuple[str, ArtifactRef]]] = {}
        for inp in inputs:
            in_state = inp._state()
            assert in_state is not None
            for name, ref in in_state.view.items():
                found.setdefault(name, []).append((in_state.step_name, ref))
        conflicts = []
        for name, refs in found.items():
            if name in skip or (only and name not in only) or name in state.set_names:
                continue
            if name in self._parameters():
                continue
            shas = {ref.sha for _, ref in refs}
            if len(shas) > 1:
                conflicts.append(name)
                continue
            state.view[name] = refs[0][1]
            self.__dict__.pop(name, None)
            state.loaded.pop(name, None)
        missing = only - set(found)
        if missing:
            raise ArtifactError(
                f"step {state.step_name!r}: merge_artifacts: no input has "
                f"{', '.join(repr(m) for m in sorted(missing))}"
            )
        if conflicts:
            raise ArtifactError(
                f"step {state.step_name!r}: merge_artifacts: the inputs disagree on "
                f"{', '.join(repr(c) for c in sorted(conflicts))}; set them in the join first "
                "or pass exclude=[...]"
            )


class Inputs:
    """The inputs of a join: iterate them, index them, or name a branch (``inputs.train``)."""

    def __init__(self, items: list[FlowSpec]) -> None:
        self._items = items

    def __iter__(self) -> Iterator[FlowSpec]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> FlowSpec:
        return self._items[index]

    def __getattr__(self, name: str) -> FlowSpec:
        if name.startswith("_"):
            raise AttributeError(name)
        for item in self._items:
            state = item._state()
            if state is not None and state.step_name == name:
                return item
        raise AttributeError(f"the join has no input from a step named {name!r}")
