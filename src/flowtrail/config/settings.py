"""The resolved configuration: which metadata store and blob store to use, and why.

A :class:`Settings` is built by :func:`flowtrail.config.resolve_settings` at an entry point
(the CLI, ``create_app``, the first client call) and passed down; nothing below the entry
points reads the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flowtrail.config.spec import METADATA_KINDS, mask_password
from flowtrail.errors import InvalidArgument, StoreUnavailable

__all__ = ["DB_FILENAME", "HOME_DIRNAME", "Settings"]

#: The name of the embedded home folder, found by walking up from the working directory.
HOME_DIRNAME = ".flowtrail"

#: The SQLite file of the embedded metadata store, inside the home folder.
DB_FILENAME = "flowtrail.db"


@dataclass(frozen=True, slots=True, repr=False)
class Settings:
    """Where flowtrail records its history, and where each of those values came from.

    Attributes:
        metadata: The metadata provider type: ``"local"`` (embedded SQLite in the home
            folder), ``"sql"`` (a database URL) or ``"service"`` (an HTTP service URL).
        metadata_location: For ``local`` the absolute path of the home folder; for ``sql``
            the database URL (with its password: use :meth:`describe_metadata` to show it);
            for ``service`` the service URL.
        datastore: The blob store type: ``"local"``, ``"s3"``, ``"gs"``, ``"memory"``, or
            ``"service"``: through the flowtrail service (the default of a ``service``
            metadata provider when no datastore is configured).
        datastore_root: For ``local`` an absolute folder path (by default the home folder);
            for ``service`` the service URL; otherwise a URL such as ``s3://bucket/prefix``.
        profile: The profile of the profile file that was used, if any.
        home: The ``.flowtrail`` folder. For ``local`` metadata it is the metadata location;
            otherwise the embedded default found from the working directory. It may not exist
            yet: see :meth:`ensure_home`.
        service_token: The bearer token sent to a ``service`` provider
            (``FLOWTRAIL_SERVICE_TOKEN``), or ``None``; never shown by ``repr``.
        sources: For each field above, where its value came from: ``"argument"``,
            ``"env:FLOWTRAIL_METADATA"`` (and so on), ``"profile:<name> (<file>)"``,
            ``"default_profile (<file>)"`` (the ``profile`` field only) or ``"default"``.
    """

    metadata: str
    metadata_location: str
    datastore: str
    datastore_root: str
    profile: str | None
    home: Path
    sources: Mapping[str, str] = field(default_factory=dict, hash=False)
    service_token: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.metadata not in METADATA_KINDS:
            raise InvalidArgument(
                f"metadata must be one of {', '.join(METADATA_KINDS)}; got {self.metadata!r}",
                details={"field": "metadata", "given": self.metadata},
            )
        if self.metadata == "local" and Path(self.metadata_location) != self.home:
            raise InvalidArgument(
                "local metadata lives in the home folder: metadata_location must equal home; "
                f"got {self.metadata_location!r} and {str(self.home)!r}",
                details={"field": "metadata_location", "given": self.metadata_location},
            )
        # A private copy: a caller's dict changing later must not change the settings. A plain
        # dict (not a MappingProxyType) keeps Settings picklable for worker processes.
        object.__setattr__(self, "sources", dict(self.sources))

    @property
    def metadata_url(self) -> str:
        """The URL a metadata store opener takes.

        ``sqlite:///<home>/flowtrail.db`` for ``local``, the database URL for ``sql``, the
        service URL for ``service``. The local path is percent-encoded where a URL needs it
        (``?`` becomes ``%3F``, ``#`` becomes ``%23``), so that
        ``sqlalchemy.engine.make_url(url).database`` gives the path back exactly.
        """
        if self.metadata == "local":
            # An f-string would let a '?' or '#' in the path start a query or a fragment.
            from sqlalchemy.engine import URL

            path = str(self.home / DB_FILENAME)
            return URL.create("sqlite", database=path).render_as_string(hide_password=False)
        return self.metadata_location

    @property
    def blob_url(self) -> str:
        """Where blobs live: the folder path for a ``local`` datastore, else its URL."""
        return self.datastore_root

    @property
    def blob_options(self) -> dict[str, str]:
        """The options a blob store opener takes besides :attr:`blob_url`: the service token
        when blobs go through the service (``{}`` otherwise)."""
        if self.datastore == "service" and self.service_token:
            return {"token": self.service_token}
        return {}

    def describe_metadata(self) -> str:
        """Describe the metadata provider as ``<type>@<location>``, passwords masked.

        Returns:
            For example ``"local@/abs/path/.flowtrail"``, ``"service@http://host:8080"`` or
            ``"sql@postgresql+psycopg://user:***@host/db"``. Unless a password was masked,
            the string is itself a metadata spec that selects the same provider again.
        """
        return f"{self.metadata}@{mask_password(self.metadata_location)}"

    def ensure_home(self) -> Path:
        """Create the home folder (and its parents) if it does not exist.

        Only whoever opens the embedded store calls this; resolving settings never creates
        anything.

        Returns:
            The home folder.

        Raises:
            StoreUnavailable: The folder cannot be created (a file is in the way, no
                permission).
        """
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot create the flowtrail home folder {str(self.home)!r}: {exc}",
                details={"home": str(self.home)},
            ) from exc
        return self.home

    def __repr__(self) -> str:
        # Never print a database password, even in a traceback or a log line.
        return (
            f"Settings(metadata={self.metadata!r}, "
            f"metadata_location={mask_password(self.metadata_location)!r}, "
            f"datastore={self.datastore!r}, "
            f"datastore_root={mask_password(self.datastore_root)!r}, "
            f"profile={self.profile!r}, home={self.home!r}, sources={dict(self.sources)!r}"
            + (", service_token='***')" if self.service_token else ")")
        )
