"""flowtrail: Python workflows whose execution history you can find, search and share."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from flowtrail.runtime import FlowSpec, Parameter, catch, current, retry, step, timeout

if TYPE_CHECKING:
    from flowtrail.runtime.api import run_flow

try:
    __version__ = version("flowtrail")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    # What needs the store loads on first use, so `from flowtrail import FlowSpec` is quick.
    if name == "run_flow":
        from flowtrail.runtime.api import run_flow

        return run_flow
    raise AttributeError(f"module 'flowtrail' has no attribute {name!r}")


__all__ = [
    "FlowSpec",
    "Parameter",
    "__version__",
    "catch",
    "current",
    "retry",
    "run_flow",
    "step",
    "timeout",
]
