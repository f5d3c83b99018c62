"""Metaflow's client names for flowtrail's client.

Replace ``from metaflow import Flow, Run, namespace`` with
``from flowtrail.compat.metaflow import Flow, Run, namespace`` and an analysis script written
for Metaflow's client reads flowtrail's history. ``Metaflow`` is :class:`Flowtrail`;
``MetaflowData``, ``MetaflowArtifacts``, ``MetaflowCode``, ``MetaflowTrigger`` and
``MetaflowEvent`` are the helper objects; the ``Metaflow*`` errors are flowtrail's errors.
"""

from __future__ import annotations

from flowtrail import client as _client
from flowtrail import errors as _errors
from flowtrail import model as _model
from flowtrail.client import (
    DataArtifact,
    Flow,
    Metadata,
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
Metaflow = _client.Flowtrail
#: ``Task.data``: artifact values by name.
MetaflowData = _client.Data
#: ``Task.artifacts``: ``DataArtifact`` objects by name.
MetaflowArtifacts = _client.Artifacts
#: ``Run.code``: the code package.
MetaflowCode = _client.Code
#: ``Run.trigger``: the events that started a run.
MetaflowTrigger = _client.Trigger
#: One triggering event: ``name``, ``id``, ``timestamp``, ``type``.
MetaflowEvent = _model.TriggerEvent
#: The root of every error (Metaflow's ``metaflow.exception.MetaflowException``).
MetaflowException = _errors.FlowtrailError
#: An object that does not exist; also a ``KeyError``.
MetaflowNotFound = _errors.NotFound
#: An object outside the current namespace.
MetaflowNamespaceMismatch = _errors.NamespaceMismatch
#: A malformed pathspec.
MetaflowInvalidPathspec = _errors.InvalidPathspec
