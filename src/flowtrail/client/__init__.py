"""The client: read the recorded history as objects addressed by pathspecs.

``Flowtrail()`` lists flows; ``Flow('F')``, ``Run('F/12')``, ``Step('F/12/train')``,
``Task('F/12/train/345')`` and ``DataArtifact('F/12/train/345/model')`` are containers of
their children (iteration, ``obj['child']``, ``'child' in obj``), read lazily from the
current metadata provider (:func:`metadata`) and limited to the current namespace
(:func:`namespace`). Nothing is read at import time.
"""

from __future__ import annotations

from flowtrail.client.artifact import DataArtifact
from flowtrail.client.code import Code
from flowtrail.client.data import Artifacts, Data
from flowtrail.client.entries import Metadata
from flowtrail.client.flow import Flow
from flowtrail.client.namespace import default_namespace, get_namespace, namespace
from flowtrail.client.provider import Provider, default_metadata, get_metadata, metadata
from flowtrail.client.root import Flowtrail
from flowtrail.client.run import Run
from flowtrail.client.step import Step
from flowtrail.client.task import Task
from flowtrail.client.trigger import Trigger

__all__ = [
    "Artifacts",
    "Code",
    "Data",
    "DataArtifact",
    "Flow",
    "Flowtrail",
    "Metadata",
    "Provider",
    "Run",
    "Step",
    "Task",
    "Trigger",
    "default_metadata",
    "default_namespace",
    "get_metadata",
    "get_namespace",
    "metadata",
    "namespace",
]
