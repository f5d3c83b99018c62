"""The error envelope every failed request answers with, and the error it stands for.

``{"error": {"code": "not_found", "message": "run 'F/9' does not exist", "details": {}}}``
with the HTTP status of the error's class. The code names the class
(:func:`flowtrail.errors.error_for_code` is the one table), so a client raises the very
class the store raised on the service.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from flowtrail.errors import (
    FlowtrailError,
    Forbidden,
    InvalidArgument,
    NotFound,
    StoreUnavailable,
    Unauthorized,
    error_for_code,
)
from flowtrail.wire.base import Str, WireModel

__all__ = ["ErrorBody", "ErrorEnvelope", "error_from_envelope"]


class ErrorBody(WireModel):
    """What went wrong: the error's ``code``, its ``message`` and structured ``details``."""

    code: Str
    message: Str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorEnvelope(WireModel):
    """The body of every error response."""

    error: ErrorBody

    @classmethod
    def of(cls, exc: FlowtrailError) -> ErrorEnvelope:
        """The envelope of an error."""
        return cls(error=ErrorBody(code=exc.code, message=exc.message, details=exc.details))


def error_from_envelope(status: int, body: bytes) -> FlowtrailError:
    """Rebuild the error a response stands for.

    Args:
        status: The HTTP status of the response.
        body: Its body; an envelope, or anything else a proxy may have answered.

    Returns:
        The error of the envelope's code, with its message and details; for a body that is
        not an envelope, a :class:`~flowtrail.errors.FlowtrailError` of the class the HTTP
        status implies, quoting the start of the body.
    """
    try:
        envelope = ErrorEnvelope.model_validate_json(body)
    except ValidationError:
        cls = _BY_STATUS.get(status, FlowtrailError)
        text = body[:200].decode("utf-8", "replace")
        return cls(
            f"the service answered HTTP {status} without an error envelope: {text!r}",
            details={"status": status},
        )
    error = envelope.error
    return error_for_code(error.code)(error.message, details=error.details)


#: The class of an error answered without an envelope (by a proxy, say), by HTTP status.
_BY_STATUS: dict[int, type[FlowtrailError]] = {
    400: InvalidArgument,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: InvalidArgument,
    422: InvalidArgument,
    502: StoreUnavailable,
    503: StoreUnavailable,
    504: StoreUnavailable,
}
