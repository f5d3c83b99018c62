"""The system tags every run carries from the moment it is recorded, whichever way it was
started (a flow class, a function-style workflow, a backfill)."""

from __future__ import annotations

import datetime as _dt
import os
import platform

from flowtrail.errors import InvalidArgument
from flowtrail.model import validate_new_tag

__all__ = ["IMAGE_ENV", "base_system_tags", "image_from_env"]

#: The environment variable naming the container image a run executes in (``image:<tag>``).
IMAGE_ENV = "FLOWTRAIL_IMAGE"


def image_from_env() -> str | None:
    """The image named by ``FLOWTRAIL_IMAGE``, or ``None``; read when a run starts, never at
    import time."""
    return os.environ.get(IMAGE_ENV) or None


def base_system_tags(user: str, runtime: str, image: str | None = None) -> set[str]:
    """``user:``, ``runtime:``, ``python_version:``, ``flowtrail_version:``, ``date:`` (UTC
    today) and, when ``image`` is given, ``image:<image>``.

    Raises:
        InvalidArgument: ``image`` cannot be a tag (the message names FLOWTRAIL_IMAGE).
    """
    from flowtrail import __version__

    tags = {
        f"user:{user}",
        f"runtime:{runtime}",
        f"python_version:{platform.python_version()}",
        f"flowtrail_version:{__version__}",
        f"date:{_dt.datetime.now(_dt.UTC).date().isoformat()}",
    }
    if image is not None:
        try:
            tags.add(validate_new_tag(f"image:{image}"))
        except InvalidArgument as exc:
            raise InvalidArgument(
                f"{IMAGE_ENV} {image!r} cannot be a tag: {exc.message}",
                details={"field": IMAGE_ENV},
            ) from None
    return tags
