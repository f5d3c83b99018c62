"""Open the stores a run records in, as the resolved settings name them.

A run through the flowtrail service sends its bearer token with every request, blobs
included when they go through the service, and its HTTP store gives up on a call after a
second or two: the run's recorder holds the records and retries for as long as the run
allows (``--store-retry-seconds``), so that limit, not the HTTP store's own, decides when a
service that stays away fails the run. Blobs through the service have no recorder to hold
them: :func:`open_run_blobs`, given the run's limit, makes their HTTP calls themselves retry
for it.
"""

from __future__ import annotations

from flowtrail.blobs import BlobStore, open_blob_store
from flowtrail.config import Settings
from flowtrail.store import MetadataStore, open_store

__all__ = ["open_run_blobs", "open_run_store", "run_blob_options"]

# The longest one HTTP call keeps retrying inside a run; the recorder retries beyond it.
_CALL_RETRY_SECONDS = 1.0


def open_run_store(settings: Settings, *, retry_for: float | None = None) -> MetadataStore:
    """The metadata store of ``settings`` (creating the home folder of ``local`` metadata).

    Args:
        settings: The resolved settings.
        retry_for: How long the run tolerates an unavailable store; a service's HTTP store
            then retries each call for at most a second (or ``retry_for`` if shorter).
    """
    if settings.metadata == "local":
        settings.ensure_home()
    if settings.metadata == "service":
        from flowtrail.store.http import RetryPolicy, connect_http_store

        retry = None
        if retry_for is not None:
            retry = RetryPolicy(total_seconds=min(retry_for, _CALL_RETRY_SECONDS))
        return connect_http_store(settings.metadata_url, token=settings.service_token, retry=retry)
    return open_store(settings.metadata_url)


def run_blob_options(settings: Settings, *, retry_for: float | None = None) -> dict[str, str]:
    """The options a run opens its blob store with, in the scheduler and in every worker
    (:attr:`Settings.blob_options`, plus ``retry_seconds`` for blobs through the service).

    Args:
        settings: The resolved settings.
        retry_for: How long the run tolerates an unavailable store: blob reads and writes
            through the service keep trying that long (the HTTP blob store's own default
            when ``None``). Other blob stores do not retry.
    """
    options = dict(settings.blob_options)
    if settings.datastore == "service" and retry_for is not None:
        options["retry_seconds"] = repr(float(retry_for))
    return options


def open_run_blobs(settings: Settings, *, retry_for: float | None = None) -> BlobStore:
    """The blob store of ``settings`` (through the service, with its token, when no
    datastore is shared with it), opened with :func:`run_blob_options`."""
    return open_blob_store(settings.blob_url, **run_blob_options(settings, retry_for=retry_for))
