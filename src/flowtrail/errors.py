"""The errors flowtrail raises: one root, one code per class, one HTTP status per class.

Every error a caller of flowtrail sees is a :class:`FlowtrailError`. Driver exceptions
(SQLAlchemy, psycopg, fsspec, httpx) are translated where they occur and never leave a
store. Each class has a stable ``code`` (what the HTTP API puts in its error envelope) and
an ``http_status``; :func:`error_for_code` maps a code back to its class so that a remote
client raises the same class the local store would.

The tree::

    FlowtrailError (500, "internal")
    ├── NotFound (404, "not_found")                    also a KeyError
    ├── AlreadyExists (409, "already_exists")
    ├── InvalidArgument (400, "invalid_argument")       also a ValueError
    │   ├── InvalidPathspec (400, "invalid_pathspec")
    │   ├── InvalidTag (400, "invalid_tag")
    │   ├── InvalidQuery (400, "invalid_query")
    │   ├── InvalidFlow (400, "invalid_flow")
    │   ├── ArtifactError (400, "artifact_error")
    │   └── RequestTooLarge (413, "request_too_large")
    ├── InvalidTransition (409, "invalid_transition")
    ├── NamespaceMismatch (403, "namespace_mismatch")
    ├── Unauthorized (401, "unauthorized")
    ├── Forbidden (403, "forbidden")
    ├── StoreUnavailable (503, "store_unavailable")
    ├── SchemaMismatch (503, "schema_mismatch")
    ├── BlobCorrupted (500, "blob_corrupted")
    ├── WorkerDied (500, "worker_died")
    ├── StepTimeout (500, "step_timeout")             also a TimeoutError
    ├── WorkflowExecutionError (500, "workflow_failed")
    └── WorkflowCancellationError (409, "workflow_cancelled")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "ArtifactError",
    "BlobCorrupted",
    "FlowtrailError",
    "Forbidden",
    "InvalidArgument",
    "InvalidFlow",
    "InvalidPathspec",
    "InvalidQuery",
    "InvalidTag",
    "InvalidTransition",
    "NamespaceMismatch",
    "NotFound",
    "RequestTooLarge",
    "SchemaMismatch",
    "StepTimeout",
    "StoreUnavailable",
    "Unauthorized",
    "WorkerDied",
    "WorkflowCancellationError",
    "WorkflowExecutionError",
    "error_for_code",
]


class FlowtrailError(Exception):
    """Root of every error flowtrail raises.

    Attributes:
        code: A stable, machine-readable name of the error kind.
        http_status: The HTTP status the service answers with for this error.
        message: What went wrong, what was expected and what was given.
        details: Structured facts about the error (field names, ids), JSON-compatible.
    """

    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        # KeyError quotes its argument in str(); every flowtrail error reads as plain text.
        return self.message


class NotFound(FlowtrailError, KeyError):
    """The object asked for does not exist. Also a ``KeyError``, so ``obj['x']`` works."""

    code = "not_found"
    http_status = 404


class AlreadyExists(FlowtrailError):
    """An object with that identity exists already (a run id, a flow, a task id)."""

    code = "already_exists"
    http_status = 409


class InvalidArgument(FlowtrailError, ValueError):
    """A value given to flowtrail is malformed or out of range. Also a ``ValueError``."""

    code = "invalid_argument"
    http_status = 400


class InvalidPathspec(InvalidArgument):
    """A pathspec does not have the expected shape (``Flow/run_id/step/task_id/artifact``)."""

    code = "invalid_pathspec"
    http_status = 400


class InvalidTag(InvalidArgument):
    """A tag breaks a tag rule: empty, too long, control characters, reserved, too many."""

    code = "invalid_tag"
    http_status = 400


class InvalidQuery(InvalidArgument):
    """A run search that does not parse or does not fit its fields: a ``where`` text or an
    ``order_by`` key. The message starts with the 1-based column (``at column 17: expected
    a value after '>='``), which ``details["column"]`` holds too."""

    code = "invalid_query"
    http_status = 400


class InvalidTransition(FlowtrailError):
    """A status change that the transition table forbids (``succeeded`` to ``running``)."""

    code = "invalid_transition"
    http_status = 409


class NamespaceMismatch(FlowtrailError):
    """The object exists but lies outside the current namespace."""

    code = "namespace_mismatch"
    http_status = 403


class Unauthorized(FlowtrailError):
    """The request carries no valid credentials."""

    code = "unauthorized"
    http_status = 401


class Forbidden(FlowtrailError):
    """The credentials are valid but their role does not allow the operation."""

    code = "forbidden"
    http_status = 403


class StoreUnavailable(FlowtrailError):
    """The metadata store or blob store cannot be reached (its URL never shows a password)."""

    code = "store_unavailable"
    http_status = 503


class SchemaMismatch(FlowtrailError):
    """The database schema is older or newer than this flowtrail; the message says the fix."""

    code = "schema_mismatch"
    http_status = 503


class BlobCorrupted(FlowtrailError):
    """A stored blob no longer hashes to its key: the data is refused, never returned."""

    code = "blob_corrupted"
    http_status = 500


class InvalidFlow(InvalidArgument):
    """A flow definition is wrong: a step or transition missing, a join without inputs, or a
    parameter value that does not fit; the message names the step and its line."""

    code = "invalid_flow"
    http_status = 400


class ArtifactError(InvalidArgument):
    """An artifact cannot be stored or merged; the message names the artifact and the step."""

    code = "artifact_error"
    http_status = 400


class RequestTooLarge(InvalidArgument):
    """A request body is larger than the service accepts; the message gives the limit."""

    code = "request_too_large"
    http_status = 413


class WorkerDied(FlowtrailError):
    """The worker process running an attempt died (killed, crashed, exited)."""

    code = "worker_died"
    http_status = 500


class StepTimeout(FlowtrailError, TimeoutError):
    """An attempt ran longer than its step's ``@timeout`` allows and was stopped."""

    code = "step_timeout"
    http_status = 500


class WorkflowExecutionError(FlowtrailError):
    """A workflow (``flowtrail.workflow``) failed: a task raised, or its worker died, on
    every attempt it had. The task's exception is the ``__cause__`` when it could travel."""

    code = "workflow_failed"
    http_status = 500


class WorkflowCancellationError(FlowtrailError):
    """A workflow was cancelled before it finished (``workflow.cancel`` or a signal)."""

    code = "workflow_cancelled"
    http_status = 409


_BY_CODE: dict[str, type[FlowtrailError]] = {
    cls.code: cls
    for cls in (
        FlowtrailError,
        NotFound,
        AlreadyExists,
        InvalidArgument,
        InvalidPathspec,
        InvalidTag,
        InvalidQuery,
        InvalidTransition,
        NamespaceMismatch,
        Unauthorized,
        Forbidden,
        StoreUnavailable,
        SchemaMismatch,
        BlobCorrupted,
        InvalidFlow,
        ArtifactError,
        RequestTooLarge,
        WorkerDied,
        StepTimeout,
        WorkflowExecutionError,
        WorkflowCancellationError,
    )
}


def error_for_code(code: str) -> type[FlowtrailError]:
    """Return the error class for a code; unknown codes map to :class:`FlowtrailError`."""
    return _BY_CODE.get(code, FlowtrailError)
