"""Metaflow's client names for flowtrail's client.

Replace ``from metaflow import Flow, Run, namespace`` with
``from flowtrail.compat.metaflow import Flow, Run, namespace`` and an analysis script written
for Metaflow's client reads flowtrail's history. ``Metaflow`` is :class:`Flowtrail`;
``MetaflowData``, ``MetaflowArtifacts``, ``MetaflowCode``, ``MetaflowTrigger`` and
``MetaflowEvent`` are the helper objects; the ``Metaflow*`` errors are flowtrail's errors.
"""

from __future__ import annotations

from flowtrail.client import (
    Artifacts,
    Code,
    Data,
    DataArtifact,
    Flow,
    Flowtrail,
    Metadata,
    Run,
    Step,
    Task,
    Trigger,
    default_metadata,
    default_namespace,
    get_metadata,
    get_namespace,
    metadata,
    namespace,
)
from flowtrail.errors import FlowtrailError, InvalidPathspec, NamespaceMismatch, NotFound
from flowtrail.model import TriggerEvent

__all__ = [
    "DataArtifact",
    "Flow",
    "Metadata",
    "Metaflow",
    "MetaflowArtifacts",
    "MetaflowCode",
    "MetaflowData",
    "MetaflowEvent",
    "MetaflowException",
    "MetaflowInvalidPathspec",
    "MetaflowNamespaceMismatch",
    "MetaflowNotFound",
    "MetaflowTrigger",
    "Run",
    "Step",
    "Task",
    "default_metadata",
    "default_namespace",
    "get_metadata",
    "get_namespace",
    "metadata",
    "namespace",
]

#: ``Metaflow()``: every flow in the current namespace.
Metaflow = Flowtrail
#: ``Task.data``: artifact values by name.
MetaflowData = Data
#: ``Task.artifacts``: ``DataArtifact`` objects by name.
MetaflowArtifacts = Artifacts
#: ``Run.code``: the code package.
MetaflowCode = Code
#: ``Run.trigger``: the events that started a run.
MetaflowTrigger = Trigger
#: One triggering event: ``name``, ``id``, ``timestamp``, ``type``.
MetaflowEvent = TriggerEvent
#: The root of every error (Metaflow's ``metaflow.exception.MetaflowException``).
MetaflowException = FlowtrailError
#: An object that does not exist; also a ``KeyError``.
MetaflowNotFound = NotFound
#: An object outside the current namespace.
MetaflowNamespaceMismatch = NamespaceMismatch
#: A malformed pathspec.
MetaflowInvalidPathspec = InvalidPathspec
