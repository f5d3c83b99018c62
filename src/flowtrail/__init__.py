"""flowtrail: Python workflows whose execution history you can find, search and share."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flowtrail.runtime import (
    FlowSpec,
    Parameter,
    catch,
    current,
    retry,
    run_flow,
    step,
    timeout,
)

try:
    __version__ = version("flowtrail")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

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
