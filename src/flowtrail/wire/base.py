"""The base of every wire model, and the strict scalar types the models are built from.

Every model refuses unknown fields (``extra="forbid"``), so a misspelt field is a 400 naming
it rather than a value silently dropped. Scalars are strict: ``"5"`` is not an int and
``1`` is not a bool, on the wire as in :mod:`flowtrail.model`. Times are integer epoch
milliseconds (:data:`Ms`). Integers that land in a column are bounded by its range
(:data:`AttemptNumber`, :data:`Count`), so an out-of-range one is a 400 naming its field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationInfo

from flowtrail.errors import InvalidArgument
from flowtrail.model.limits import (
    MAX_ATTEMPT,
    MAX_EPOCH_MS,
    MAX_INT64,
    MIN_EPOCH_MS,
    check_attempt,
)

__all__ = [
    "AttemptNumber",
    "Bool",
    "Count",
    "Int",
    "Ms",
    "QueryAttempt",
    "QueryMs",
    "Str",
    "WireModel",
    "at_field",
    "field_error",
]


def _in_time_range(value: int) -> int:
    if not MIN_EPOCH_MS <= value <= MAX_EPOCH_MS:
        # The message from_epoch_ms gives, for a time given anywhere.
        raise ValueError(
            f"a time in epoch milliseconds must fall in the years 1 to 9999 "
            f"({MIN_EPOCH_MS} to {MAX_EPOCH_MS}), got {value}"
        )
    return value


def _attempt_in_range(value: int, info: ValidationInfo) -> int:
    # The message check_attempt gives, for an attempt given anywhere.
    return check_attempt(value, info.field_name or "attempt")


_ATTEMPT = Field(json_schema_extra={"minimum": 0, "maximum": MAX_ATTEMPT})

_TIME = Field(
    description="epoch milliseconds (UTC)",
    json_schema_extra={"minimum": MIN_EPOCH_MS, "maximum": MAX_EPOCH_MS},
)

#: An integer; ``true`` and ``"5"`` are refused.
Int = Annotated[int, Strict()]
#: A string; numbers are refused.
Str = Annotated[str, Strict()]
#: A boolean; ``1`` and ``"true"`` are refused.
Bool = Annotated[bool, Strict()]
#: A time: integer epoch milliseconds (UTC), in the years 1 to 9999.
Ms = Annotated[int, Strict(), AfterValidator(_in_time_range), _TIME]
#: An attempt number: 0 to 2**31 - 1 (a 32-bit column).
AttemptNumber = Annotated[int, Strict(), AfterValidator(_attempt_in_range), _ATTEMPT]
#: A size, a log line ``seq`` or a pid: 0 to 2**63 - 1 (a 64-bit column).
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_INT64)]
#: :data:`Ms` in a query string (where every value arrives as text).
QueryMs = Annotated[int, AfterValidator(_in_time_range), _TIME]
#: :data:`AttemptNumber` in a query string.
QueryAttempt = Annotated[int, AfterValidator(_attempt_in_range), _ATTEMPT]


class WireModel(BaseModel):
    """A request or response body: unknown fields are refused, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@contextmanager
def at_field(path: str) -> Iterator[None]:
    """Name the field an :class:`~flowtrail.errors.InvalidArgument` raised in the block is
    about: the error is raised again, of the same class, with ``path`` in front of its
    message and in ``details["field"]``.

    Args:
        path: The field, as the error envelope shows it (``body.tasks.2.pathspec``).
    """
    try:
        yield
    except InvalidArgument as exc:
        raise field_error(path, exc) from exc


def field_error(path: str, exc: InvalidArgument) -> InvalidArgument:
    """``exc`` naming the field ``path`` (itself when it names one already): what
    :func:`at_field` raises, for hot paths that catch the error themselves (a ``try`` costs
    nothing until it fires; a context manager costs a call per record)."""
    if "field_path" in exc.details:
        return exc
    return type(exc)(f"{path}: {exc.message}", details={**exc.details, "field_path": path})
