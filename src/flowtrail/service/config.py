"""What a service needs besides its stores: who may call it, how large a request may be, and
where its server processes share their metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flowtrail.errors import InvalidArgument
from flowtrail.service.auth import AuthConfig

__all__ = ["DEFAULT_MAX_BLOB_BYTES", "DEFAULT_MAX_BODY_BYTES", "ServiceConfig"]

#: The largest JSON request body accepted by default: 16 MiB.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: The largest blob a ``PUT /api/v1/blobs/{sha}`` accepts by default: 512 MiB.
DEFAULT_MAX_BLOB_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """The settings of one service app.

    Attributes:
        auth: The tokens accepted; ``None`` asks for no token (every caller may do
            everything: serve only on loopback then).
        max_body_bytes: Larger request bodies are refused with 413 before any is read
            into a store.
        max_blob_bytes: The same limit for blob uploads.
        metrics_dir: The folder several server processes share their metrics through
            (``PROMETHEUS_MULTIPROC_DIR``, set before prometheus-client is imported);
            ``None``: this process counts alone.
    """

    auth: AuthConfig | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES
    metrics_dir: Path | None = None

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_blob_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidArgument(f"{name} must be a positive int, got {value!r}")
        if self.metrics_dir is not None and not isinstance(self.metrics_dir, Path):
            raise InvalidArgument(f"metrics_dir must be a Path, got {self.metrics_dir!r:.60}")
