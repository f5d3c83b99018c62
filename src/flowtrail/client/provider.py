"""The metadata provider the client reads through, and the one process-wide current provider.

A :class:`Provider` is a :class:`~flowtrail.config.Settings` plus the metadata store and blob
store it names, each opened on first use. The client keeps one *current* provider for the
process: :func:`metadata` switches it, :func:`default_metadata` goes back to the configured
default, :func:`get_metadata` describes it. Nothing happens at import time: the settings are
resolved (environment, profile file, ``.flowtrail`` folder) by the first client call.

Every client object keeps the provider it was created with, so a switch affects only objects
created afterwards.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from flowtrail.config import Settings, resolve_settings
from flowtrail.config.spec import sqlite_file, url_scheme
from flowtrail.errors import StoreUnavailable

if TYPE_CHECKING:
    # The stores (SQLAlchemy, zstandard) load when a provider first opens them, so that
    # importing the client stays quick.
    from flowtrail.blobs import BlobStore
    from flowtrail.store import MetadataStore

__all__ = ["Provider", "current_provider", "default_metadata", "get_metadata", "metadata"]


class Provider:
    """A metadata provider: where the client reads flows, runs, tasks and their blobs.

    The stores are opened when first needed and kept open until :meth:`close`; a provider
    that was closed opens them again when it is used again, so objects created before a
    switch of the current provider keep working.

    Args:
        settings: Which metadata store and blob store to read.
        store: An open metadata store to use instead of opening ``settings.metadata_url``.
            The provider does not close a store it was given.
        blobs: An open blob store to use instead of opening ``settings.blob_url``; not closed
            by the provider either.

    Example:
        >>> from flowtrail.config import resolve_settings
        >>> Provider(resolve_settings(metadata="sql@sqlite://", env={})).describe()
        'sql@sqlite://'
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: MetadataStore | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._blobs = blobs
        self._owns_store = store is None
        self._owns_blobs = blobs is None
        self._empty: MetadataStore | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str) -> Provider:
        """The provider of a metadata spec (``local@PATH``, a path, ``sql@URL``, a URL, ...),
        with the other settings (the datastore) resolved from the environment and profile.

        Raises:
            InvalidArgument: the spec has none of the accepted forms.
        """
        return cls(resolve_settings(metadata=spec))

    @property
    def settings(self) -> Settings:
        """The settings this provider reads with."""
        return self._settings

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the stores: the metadata URL and the blob URL."""
        return self._settings.metadata_url, self._settings.blob_url

    def describe(self) -> str:
        """``<type>@<location>``, passwords masked: ``local@/abs/.flowtrail``."""
        return self._settings.describe_metadata()

    @property
    def store(self) -> MetadataStore:
        """The metadata store, opened on first use.

        Raises:
            StoreUnavailable: the store cannot be opened (an unreachable database; a
                service is only contacted by the first read).
        """
        with self._lock:
            if self._store is None:
                missing = self._missing_location()
                if missing is not None:
                    return self._empty_store(missing)
                self._store = self._open_store()
            return self._store

    def _missing_location(self) -> Path | None:
        """A local home, or a SQLite file, whose database does not exist (reading it must
        not create it); ``None`` when there is a database to open."""
        if not self._owns_store:
            return None
        if self._settings.metadata == "local":
            from flowtrail.config.settings import DB_FILENAME

            home = self._settings.home
            return None if (home / DB_FILENAME).exists() else home
        database = sqlite_file(self._settings.metadata_url)
        return None if database is None or database.exists() else database

    def _empty_store(self, missing: Path) -> MetadataStore:
        """An empty in-memory store that answers reads of ``missing``, a home (or a SQLite
        file) where nothing was recorded: listings are empty, ``get_*`` raise ``NotFound``
        saying so. Kept until the database appears (a run recorded there), then the real
        one is opened."""
        if self._empty is None:
            from flowtrail.client.empty import NothingRecorded

            self._empty = NothingRecorded(missing)
        return self._empty

    @property
    def blobs(self) -> BlobStore:
        """The blob store, opened on first use."""
        with self._lock:
            if self._blobs is None:
                from flowtrail.blobs import open_blob_store

                self._blobs = open_blob_store(
                    self._settings.blob_url, **self._settings.blob_options
                )
            return self._blobs

    def _take_stores(self, other: Provider) -> None:
        """Take over the stores ``other`` opened itself, when this one has opened none
        (``other`` names the same stores and opens them again if it is used again)."""
        with self._lock, other._lock:
            if self._store is None and other._owns_store and other._store is not None:
                self._store, other._store = other._store, None
            if self._blobs is None and other._owns_blobs and other._blobs is not None:
                self._blobs, other._blobs = other._blobs, None

    def close(self) -> None:
        """Close the stores this provider opened itself. Idempotent."""
        with self._lock:
            if self._owns_store and self._store is not None:
                self._store.close()
                self._store = None
            if self._owns_blobs and self._blobs is not None:
                self._blobs.close()
                self._blobs = None
            if self._empty is not None:
                self._empty.close()
                self._empty = None

    def _open_store(self) -> MetadataStore:
        from flowtrail.store import SCHEMES, open_store

        settings = self._settings
        url = settings.metadata_url
        if settings.metadata == "local":
            settings.ensure_home()
        elif url_scheme(url) not in SCHEMES:
            raise StoreUnavailable(
                f"cannot read the metadata provider {settings.describe_metadata()!r}: this "
                f"flowtrail opens {', '.join(s + '://' for s in SCHEMES)} URLs, not "
                f"{url_scheme(url)}://",
                details={"metadata": settings.describe_metadata()},
            )
        return open_store(url, token=settings.service_token)

    def __repr__(self) -> str:
        return f"Provider({self.describe()!r})"


_lock = threading.Lock()
_current: Provider | None = None


def current_provider() -> Provider:
    """The process-wide current provider; the configured default on the first call.

    Raises:
        InvalidArgument: the configuration (environment, profile file) is malformed.
    """
    global _current
    with _lock:
        if _current is None:
            _current = Provider(resolve_settings())
        return _current


def _switch(provider: Provider) -> str:
    global _current
    with _lock:
        old, _current = _current, provider
        if old is not None and old is not provider:
            if old.key == provider.key:
                provider._take_stores(old)  # the same stores: the open ones move over
            else:
                old.close()
        return provider.describe()


def metadata(ms: str) -> str:
    """Switch the metadata provider for objects created from now on.

    Args:
        ms: A path (the ``.flowtrail`` folder to read: ``local@PATH``), ``local``,
            ``local@PATH``, an ``http(s)://`` URL or ``service@URL`` (the flowtrail service),
            ``sql@URL`` or a database URL (``sql@postgresql+psycopg://user@host/db``).

    Returns:
        The provider selected, as :func:`get_metadata` describes it.

    Raises:
        InvalidArgument: ``ms`` has none of the accepted forms.
    """
    return _switch(Provider.from_spec(ms))


def get_metadata() -> str:
    """Describe the current metadata provider: ``local@/path/.flowtrail``,
    ``service@http://host:8080`` or ``sql@postgresql+psycopg://user:***@host/db``."""
    return current_provider().describe()


def default_metadata() -> str:
    """Go back to the configured provider (arguments aside: environment variables such as
    ``FLOWTRAIL_METADATA``, the profile file, the ``.flowtrail`` folder found from the working
    directory), resolved again now.

    Returns:
        The provider selected, as :func:`get_metadata` describes it.
    """
    return _switch(Provider(resolve_settings()))
