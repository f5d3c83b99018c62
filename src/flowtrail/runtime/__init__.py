"""The runtime: write flows as classes and run them on warm local workers, recording every
run, task, attempt, artifact, log line and metadata entry as it happens."""

from __future__ import annotations

from flowtrail.runtime.api import load_flow, run_flow
from flowtrail.runtime.current import Current, current
from flowtrail.runtime.decorators import StepOptions, catch, retry, timeout
from flowtrail.runtime.executor import AttemptLost, Executor, LocalExecutor
from flowtrail.runtime.graph import FlowGraph, StepNode, Transition
from flowtrail.runtime.launch import RunRequest, launch
from flowtrail.runtime.parameters import Parameter
from flowtrail.runtime.progress import LiveProgress, PlainProgress, Progress, SilentProgress
from flowtrail.runtime.scheduler import RunOutcome, Scheduler
from flowtrail.runtime.spec import FlowSpec, Inputs, step

__all__ = [
    "AttemptLost",
    "Current",
    "Executor",
    "FlowGraph",
    "FlowSpec",
    "Inputs",
    "LiveProgress",
    "LocalExecutor",
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
