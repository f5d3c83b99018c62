"""The profile file: named sets of settings in TOML.

The file lives at ``$FLOWTRAIL_CONFIG`` if set, else ``$XDG_CONFIG_HOME/flowtrail/config.toml``,
else ``~/.config/flowtrail/config.toml``::

    default_profile = "team"                              # optional

    [profiles.team]
    metadata = "service@http://flowtrail.internal:8080"   # any metadata spec
    service_url = "http://flowtrail.internal:8080"        # used with metadata = "service"
    datastore = "s3"
    datastore_root = "s3://bucket/flowtrail"

A missing file means "no profiles". A file that is there but wrong (bad TOML, an unknown key, a
value that is not a string) is an error naming the file and the key, never silently ignored.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowtrail.config.spec import absolute_path
from flowtrail.errors import InvalidArgument

__all__ = [
    "FILE_KEYS",
    "PROFILE_KEYS",
    "Profile",
    "ProfileFile",
    "config_file_location",
    "config_file_path",
    "load_profiles",
]

#: The keys a ``[profiles.<name>]`` table may hold.
PROFILE_KEYS: tuple[str, ...] = ("metadata", "service_url", "datastore", "datastore_root")

#: The keys the top level of the profile file may hold.
FILE_KEYS: tuple[str, ...] = ("default_profile", "profiles")


@dataclass(frozen=True, slots=True)
class Profile:
    """One ``[profiles.<name>]`` table of the profile file.

    Attributes:
        name: The profile name.
        path: The file the profile was read from.
        metadata: A metadata spec (any form ``parse_metadata_spec`` takes), if set.
        service_url: The service URL used with ``metadata = "service"``, if set.
        datastore: The datastore type, if set.
        datastore_root: The datastore folder or URL, if set.
    """

    name: str
    path: Path
    metadata: str | None = None
    service_url: str | None = None
    datastore: str | None = None
    datastore_root: str | None = None

    @property
    def source(self) -> str:
        """How a value from this profile is labelled: ``profile:<name> (<file>)``."""
        return f"profile:{self.name} ({self.path})"

    def value(self, key: str) -> str | None:
        """Return the value of one of :data:`PROFILE_KEYS`, or None if the profile omits it.

        Args:
            key: One of ``metadata``, ``service_url``, ``datastore``, ``datastore_root``.

        Returns:
            The value, or ``None``.

        Raises:
            InvalidArgument: ``key`` is not a profile key.
        """
        values = {
            "metadata": self.metadata,
            "service_url": self.service_url,
            "datastore": self.datastore,
            "datastore_root": self.datastore_root,
        }
        if key not in values:
            raise InvalidArgument(
                f"{key!r} is not a profile key; accepted keys: {', '.join(PROFILE_KEYS)}"
            )
        return values[key]


@dataclass(frozen=True, slots=True)
class ProfileFile:
    """The contents of the profile file.

    Attributes:
        path: Where the file is (or would be); ``None`` when no location is known (no
            ``FLOWTRAIL_CONFIG``, ``XDG_CONFIG_HOME`` or ``HOME``).
        exists: Whether the file was found.
        default_profile: The file's ``default_profile``, if set.
        profiles: The profiles by name.
    """

    path: Path | None
    exists: bool
    default_profile: str | None = None
    profiles: Mapping[str, Profile] = field(default_factory=dict, hash=False)

    def get(self, name: str, *, requested_by: str = "argument") -> Profile:
        """Return the profile called ``name``.

        Args:
            name: The profile name.
            requested_by: Who asked for it (``"argument"``, ``"env:FLOWTRAIL_PROFILE"``,
                ``"default_profile"``), for the error message.

        Returns:
            The profile.

        Raises:
            InvalidArgument: The file does not exist or has no such profile; the message
                names the file and lists the profiles it has.
        """
        details = {"profile": name, "file": None if self.path is None else str(self.path)}
        if self.path is None:
            raise InvalidArgument(
                f"profile {name!r} was asked for ({requested_by}) but there is no profile file: "
                "set FLOWTRAIL_CONFIG to its path (or XDG_CONFIG_HOME or HOME)",
                details=details,
            )
        if not self.exists:
            raise InvalidArgument(
                f"profile {name!r} was asked for ({requested_by}) but the profile file "
                f"{self.path} does not exist; create it with a [profiles.{name}] table or set "
                "FLOWTRAIL_CONFIG to the file that has one",
                details=details,
            )
        if name not in self.profiles:
            available = ", ".join(sorted(self.profiles)) or "(none)"
            raise InvalidArgument(
                f"profile {name!r} ({requested_by}) is not in the profile file {self.path}; "
                f"available profiles: {available}",
                details={**details, "available": sorted(self.profiles)},
            )
        return self.profiles[name]


def config_file_path(
    env: Mapping[str, str] | None = None, *, cwd: Path | None = None
) -> Path | None:
    """Return where the profile file is: it need not exist.

    ``$FLOWTRAIL_CONFIG`` if set (relative to ``cwd``), else
    ``$XDG_CONFIG_HOME/flowtrail/config.toml`` (an absolute ``XDG_CONFIG_HOME`` only, as the
    XDG specification says), else ``$HOME/.config/flowtrail/config.toml``.

    Args:
        env: The environment; ``os.environ`` at call time when omitted.
        cwd: The folder a relative ``FLOWTRAIL_CONFIG`` is taken against; ``Path.cwd()``
            when omitted.

    Returns:
        The path, or ``None`` if ``env`` names no location at all (no ``HOME`` either), which
        keeps a test that passes ``env={}`` away from the real user's file.
    """
    return config_file_location(env, cwd=cwd)[0]


def config_file_location(
    env: Mapping[str, str] | None = None, *, cwd: Path | None = None
) -> tuple[Path | None, str]:
    """Return :func:`config_file_path` and where it came from: ``"env:FLOWTRAIL_CONFIG"``,
    ``"env:XDG_CONFIG_HOME"`` or ``"default"``."""
    env = os.environ if env is None else env
    explicit = env.get("FLOWTRAIL_CONFIG", "").strip()
    if explicit:
        return absolute_path(explicit, cwd), "env:FLOWTRAIL_CONFIG"
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "flowtrail" / "config.toml", "env:XDG_CONFIG_HOME"
    home = env.get("HOME", "").strip() or env.get("USERPROFILE", "").strip()
    if home:
        return Path(home) / ".config" / "flowtrail" / "config.toml", "default"
    return None, "default"


def load_profiles(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ProfileFile:
    """Read and check the profile file.

    Args:
        path: The file to read; :func:`config_file_path` of ``env`` when omitted.
        env: The environment used to find the file; ``os.environ`` at call time when omitted.
        cwd: The folder a relative ``FLOWTRAIL_CONFIG`` is taken against.

    Returns:
        The profiles; an empty :class:`ProfileFile` with ``exists=False`` when the file is
        missing.

    Raises:
        InvalidArgument: The file cannot be read, is not UTF-8 TOML, has an unknown key at the
            top level or in a profile, or a value that is not a non-empty string. The message
            names the file, the key and what is accepted.
    """
    if path is None:
        path = config_file_path(env, cwd=cwd)
        if path is None:
            return ProfileFile(path=None, exists=False)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ProfileFile(path=path, exists=False)
    except OSError as exc:
        raise InvalidArgument(
            f"cannot read the profile file {path}: {exc.strerror or exc}",
            details={"file": str(path)},
        ) from exc
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidArgument(
            f"the profile file {path} is not valid TOML: {exc}", details={"file": str(path)}
        ) from exc
    return _check_document(document, path)


def _check_document(document: Mapping[str, Any], path: Path) -> ProfileFile:
    unknown = sorted(set(document) - set(FILE_KEYS))
    if unknown:
        raise InvalidArgument(
            f"unknown key(s) {', '.join(map(repr, unknown))} in the profile file {path}; "
            f"accepted top-level keys: {', '.join(FILE_KEYS)} (profiles go in "
            "[profiles.<name>] tables)",
            details={"file": str(path), "keys": unknown, "accepted": list(FILE_KEYS)},
        )
    default_profile = document.get("default_profile")
    if default_profile is not None:
        default_profile = _string(default_profile, path, "default_profile")
    tables = document.get("profiles", {})
    if not isinstance(tables, dict):
        raise InvalidArgument(
            f"'profiles' in the profile file {path} must be a table of [profiles.<name>] "
            f"tables; got {type(tables).__name__}",
            details={"file": str(path), "key": "profiles"},
        )
    profiles = {name: _check_profile(name, table, path) for name, table in tables.items()}
    return ProfileFile(path=path, exists=True, default_profile=default_profile, profiles=profiles)


def _check_profile(name: str, table: object, path: Path) -> Profile:
    if not isinstance(table, dict):
        raise InvalidArgument(
            f"profile {name!r} in the profile file {path} must be a [profiles.{name}] table; "
            f"got {type(table).__name__}",
            details={"file": str(path), "profile": name},
        )
    unknown = sorted(set(table) - set(PROFILE_KEYS))
    if unknown:
        raise InvalidArgument(
            f"unknown key(s) {', '.join(map(repr, unknown))} in profile {name!r} of the "
            f"profile file {path}; accepted keys: {', '.join(PROFILE_KEYS)}",
            details={
                "file": str(path),
                "profile": name,
                "keys": unknown,
                "accepted": list(PROFILE_KEYS),
            },
        )
    values = {key: _string(value, path, f"profiles.{name}.{key}") for key, value in table.items()}
    return Profile(
        name=name,
        path=path,
        metadata=values.get("metadata"),
        service_url=values.get("service_url"),
        datastore=values.get("datastore"),
        datastore_root=values.get("datastore_root"),
    )


def _string(value: object, path: Path, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(
            f"{key} in the profile file {path} must be a non-empty string; got {value!r}",
            details={"file": str(path), "key": key},
        )
    return value.strip()
