"""Flow parameters: typed values set from the command line or ``run_flow``, recorded with the
run and readable in every step as ``self.<name>``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flowtrail.errors import InvalidFlow
from flowtrail.model import validate_name

__all__ = ["Parameter"]

_MISSING: Any = object()
_TYPES: dict[type, str] = {int: "int", float: "float", str: "str", bool: "bool", dict: "json"}
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


class Parameter:
    """A flow parameter, declared as a class attribute of a flow.

    Example::

        class TrainFlow(FlowSpec):
            alpha = Parameter("alpha", default=0.1, help="learning rate")

    ``python flow.py run --alpha 0.2`` sets it; in a step ``self.alpha`` reads it.

    Args:
        name: The option name on the command line (``--name``).
        default: The value when none is given; its type is the parameter's type unless
            ``type`` says otherwise.
        type: ``int``, ``float``, ``str``, ``bool`` or ``dict`` (a JSON object); by default the
            type of ``default``, else ``str``.
        help: Shown by ``python flow.py --help``.
        required: Whether a value must be given (a parameter without a default is required).
    """

    def __init__(
        self,
        name: str,
        default: Any = _MISSING,
        type: type | None = None,
        help: str | None = None,
        required: bool = False,
    ) -> None:
        validate_name("parameter", name)
        if type is None:
            type = builtin_type(default) if default is not _MISSING else str
        if type not in _TYPES:
            raise InvalidFlow(
                f"parameter {name!r}: type must be int, float, str, bool or dict, got {type!r}"
            )
        self.name = name
        self.type = type
        self.help = help
        self.required = required or default is _MISSING
        self.has_default = default is not _MISSING
        self.default = self.convert(default) if self.has_default else None
        self.attribute = name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.attribute = attribute

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        values: Mapping[str, Any] = obj._flowtrail_parameters()
        return values.get(self.name, self.default)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(f"parameter {self.name!r} is read-only in a step")

    @property
    def type_name(self) -> str:
        """``int``, ``float``, ``str``, ``bool`` or ``json``."""
        return _TYPES[self.type]

    def convert(self, value: Any) -> Any:
        """The value as this parameter's type; a string is parsed.

        Raises:
            InvalidFlow: ``--alpha: expected float, got 'abc'``.
        """
        try:
            if isinstance(value, str):
                return self._parse(value)
            if self.type is float and isinstance(value, int) and not isinstance(value, bool):
                return float(value)
            if self.type is dict and isinstance(value, Mapping):
                return json.loads(json.dumps(dict(value), allow_nan=False))
            if type(value) is self.type:
                return value
        except (ValueError, TypeError):
            pass
        raise InvalidFlow(
            f"--{self.name}: expected {self.type_name}, got {value!r}",
            details={"parameter": self.name, "given": repr(value)},
        )

    def _parse(self, text: str) -> Any:
        if self.type is str:
            return text
        if self.type is bool:
            lowered = text.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(text)
        if self.type is dict:
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ValueError(text)
            return value
        return self.type(text)

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, type={self.type_name})"


def builtin_type(value: Any) -> type:
    """The parameter type a default value implies."""
    for kind in (bool, int, float, str, dict):
        if isinstance(value, kind):
            return kind
    return str
