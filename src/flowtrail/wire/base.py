"""The base of every wire model, and the strict scalar types the models are built from.

Every model refuses unknown fields (``extra="forbid"``), so a misspelt field is a 400 naming
it rather than a value silently dropped. Scalars are strict: ``"5"`` is not an int and
``1`` is not a bool, on the wire as in :mod:`flowtrail.model`. Times are integer epoch
milliseconds (:data:`Ms`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from flowtrail.errors import InvalidArgument

__all__ = ["Bool", "Int", "Ms", "Str", "WireModel", "at_field"]

#: An integer; ``true`` and ``"5"`` are refused.
Int = Annotated[int, Strict()]
#: A string; numbers are refused.
Str = Annotated[str, Strict()]
#: A boolean; ``1`` and ``"true"`` are refused.
Bool = Annotated[bool, Strict()]
#: A time: integer epoch milliseconds (UTC).
Ms = Annotated[int, Strict(), Field(description="epoch milliseconds (UTC)")]


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
        if "field_path" in exc.details:
            raise
        raise type(exc)(
            f"{path}: {exc.message}", details={**exc.details, "field_path": path}
        ) from exc
