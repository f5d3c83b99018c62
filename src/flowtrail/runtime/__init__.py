"""The runtime: write flows as classes and run them on warm local workers, recording every
run, task, attempt, artifact, log line and metadata entry as it happens.

Authoring names (``FlowSpec``, ``step``, ``Parameter``, ``current`` and the decorators) load
without the store; the rest loads on first use, so a flow file imports in milliseconds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flowtrail.model.values import MetadataValue
from flowtrail.runtime.current import Current, current
from flowtrail.runtime.decorators import StepOptions, catch, retry, timeout
from flowtrail.runtime.parameters import Parameter
from flowtrail.runtime.spec import FlowSpec, Inputs, step

if TYPE_CHECKING:
    from flowtrail.runtime.api import load_flow, run_flow
    from flowtrail.runtime.executor import AttemptLost, Executor, LocalExecutor
    from flowtrail.runtime.graph import FlowGraph, StepNode, Transition
    from flowtrail.runtime.launch import RunRequest, launch
    from flowtrail.runtime.progress import LiveProgress, PlainProgress, Progress, SilentProgress
    from flowtrail.runtime.scheduler import RunOutcome, Scheduler

_LAZY = {
    "load_flow": "api",
    "run_flow": "api",
    "AttemptLost": "executor",
    "Executor": "executor",
    "LocalExecutor": "executor",
    "FlowGraph": "graph",
    "StepNode": "graph",
    "Transition": "graph",
    "RunRequest": "launch",
    "launch": "launch",
    "LiveProgress": "progress",
    "PlainProgress": "progress",
    "Progress": "progress",
    "SilentProgress": "progress",
    "RunOutcome": "scheduler",
    "Scheduler": "scheduler",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowtrail.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"flowtrail.runtime.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "AttemptLost",
    "Current",
    "Executor",
    "FlowGraph",
    "FlowSpec",
    "Inputs",
    "LiveProgress",
    "LocalExecutor",
    "MetadataValue",
    "Parameter",
    "PlainProgress",
    "Progress",
    "RunOutcome",
    "RunRequest",
    "Scheduler",
    "SilentProgress",
    "StepNode",
    "StepOptions",
    "Transition",
    "catch",
    "current",
    "launch",
    "load_flow",
    "retry",
    "run_flow",
    "step",
    "timeout",
]
