"""flowtrail: Python workflows whose execution history you can find, search and share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowtrail._version import __version__
from flowtrail.model.values import MetadataValue
from flowtrail.runtime import FlowSpec, Parameter, catch, current, retry, step, timeout

if TYPE_CHECKING:
    from flowtrail import workflow
    from flowtrail.client import (
        DataArtifact,
        Flow,
        Flowtrail,
        Run,
        Step,
        Task,
        default_metadata,
        default_namespace,
        get_metadata,
        get_namespace,
        metadata,
        namespace,
    )
    from flowtrail.runtime.api import run_flow

# The client's names (flowtrail.client), loaded on first use too.
_CLIENT = frozenset(
    {
        "DataArtifact",
        "Flow",
        "Flowtrail",
        "Run",
        "Step",
        "Task",
        "default_metadata",
        "default_namespace",
        "get_metadata",
        "get_namespace",
        "metadata",
        "namespace",
    }
)


def __getattr__(name: str) -> Any:
    # What needs the store loads on first use, so `from flowtrail import FlowSpec` is quick.
    if name == "run_flow":
        from flowtrail.runtime.api import run_flow

        return run_flow
    if name in _CLIENT:
        from flowtrail import client

        return getattr(client, name)
    if name == "workflow":
        import importlib

        return importlib.import_module("flowtrail.workflow")
    raise AttributeError(f"module 'flowtrail' has no attribute {name!r}")


__all__ = [
    "DataArtifact",
    "Flow",
    "FlowSpec",
    "Flowtrail",
    "MetadataValue",
    "Parameter",
    "Run",
    "Step",
    "Task",
    "__version__",
    "catch",
    "current",
    "default_metadata",
    "default_namespace",
    "get_metadata",
    "get_namespace",
    "metadata",
    "namespace",
    "retry",
    "run_flow",
    "step",
    "timeout",
    "workflow",
]
