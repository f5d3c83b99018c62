"""Configuration: which metadata store and blob store flowtrail uses, resolved on demand.

Settings come from arguments, then environment variables, then a named profile of the profile
file, then the embedded default (a ``.flowtrail`` folder found by walking up from the working
directory). Importing this package reads nothing: :func:`resolve_settings` reads the
environment and the profile file when it is called, and entry points pass the resulting
:class:`Settings` down.

Example:
    >>> from flowtrail.config import resolve_settings
    >>> settings = resolve_settings(metadata="sqlite:///:memory:", env={})
    >>> settings.describe_metadata()
    'sql@sqlite:///:memory:'
"""

from __future__ import annotations

from flowtrail.config.profiles import (
    Profile,
    ProfileFile,
    config_file_location,
    config_file_path,
    load_profiles,
)
from flowtrail.config.resolve import find_home, resolve_settings
from flowtrail.config.settings import Settings
from flowtrail.config.spec import mask_password, parse_metadata_spec

__all__ = [
    "Profile",
    "ProfileFile",
    "Settings",
    "config_file_location",
    "config_file_path",
    "find_home",
    "load_profiles",
    "mask_password",
    "parse_metadata_spec",
    "resolve_settings",
]
