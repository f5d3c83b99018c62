"""The JSON the flowtrail service and the HTTP store exchange: pydantic models of every
request and response of the ``/api/v1`` API, and their conversion to and from the records
of :mod:`flowtrail.model` — in this package only.

Both sides import it: the service (:mod:`flowtrail.service`) to read requests and answer,
the HTTP store (:class:`flowtrail.store.http.HttpStore`) to send requests and rebuild the
records. It imports nothing of the service. Times are integer epoch milliseconds, unknown
fields are refused, and scalars are strict.
"""

from __future__ import annotations

from flowtrail.wire.base import Bool, Int, Ms, Str, WireModel, at_field
from flowtrail.wire.errors import ErrorBody, ErrorEnvelope, error_from_envelope
from flowtrail.wire.queries import (
    ArtifactsQuery,
    AttemptQuery,
    ExistsModel,
    LogLinesModel,
    LogsQuery,
    MetadataQuery,
    OneArtifactQuery,
    OneAttemptQuery,
    OneQuery,
    PageModel,
    PageQuery,
    PathspecQuery,
    RunExistsQuery,
    RunsQuery,
    TagsQuery,
)
from flowtrail.wire.records import (
    ArtifactModel,
    AttemptModel,
    CodePackageModel,
    ExceptionModel,
    FlowModel,
    ForeachFrameModel,
    LogLineModel,
    MetadataEntryModel,
    MetadataValueModel,
    RunModel,
    ScalarModel,
    StepModel,
    TagCountModel,
    TaskModel,
    TriggerEventModel,
)
from flowtrail.wire.writes import (
    AttemptEndModel,
    BatchModel,
    BatchResultModel,
    HeartbeatModel,
    NewArtifactModel,
    NewArtifactsModel,
    NewAttemptModel,
    NewFlowModel,
    NewLogLineModel,
    NewLogLinesModel,
    NewMetadataListModel,
    NewMetadataModel,
    NewRunModel,
    NewStepModel,
    NewTaskModel,
    ReplaceTagsModel,
    StatusChangeModel,
    TagsModel,
)

#: The version of the JSON API, as in its path prefix.
API_VERSION = "v1"
#: The path every API endpoint starts with.
API_PREFIX = "/api/v1"

__all__ = [
    "API_PREFIX",
    "API_VERSION",
    "ArtifactModel",
    "ArtifactsQuery",
    "AttemptEndModel",
    "AttemptModel",
    "AttemptQuery",
    "BatchModel",
    "BatchResultModel",
    "Bool",
    "CodePackageModel",
    "ErrorBody",
    "ErrorEnvelope",
    "ExceptionModel",
    "ExistsModel",
    "FlowModel",
    "ForeachFrameModel",
    "HeartbeatModel",
    "Int",
    "LogLineModel",
    "LogLinesModel",
    "LogsQuery",
    "MetadataEntryModel",
    "MetadataQuery",
    "MetadataValueModel",
    "Ms",
    "NewArtifactModel",
    "NewArtifactsModel",
    "NewAttemptModel",
    "NewFlowModel",
    "NewLogLineModel",
    "NewLogLinesModel",
    "NewMetadataListModel",
    "NewMetadataModel",
    "NewRunModel",
    "NewStepModel",
    "NewTaskModel",
    "OneArtifactQuery",
    "OneAttemptQuery",
    "OneQuery",
    "PageModel",
    "PageQuery",
    "PathspecQuery",
    "ReplaceTagsModel",
    "RunExistsQuery",
    "RunModel",
    "RunsQuery",
    "ScalarModel",
    "StatusChangeModel",
    "StepModel",
    "Str",
    "TagCountModel",
    "TagsModel",
    "TagsQuery",
    "TaskModel",
    "TriggerEventModel",
    "WireModel",
    "at_field",
    "error_from_envelope",
]
