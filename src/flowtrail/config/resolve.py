"""Resolve the settings: arguments, then environment, then profile, then the embedded default.

Each field is resolved on its own, first source wins:

1. the argument given to :func:`resolve_settings`;
2. the environment: ``FLOWTRAIL_METADATA``, ``FLOWTRAIL_SERVICE_URL``, ``FLOWTRAIL_DATASTORE``,
   ``FLOWTRAIL_DATASTORE_ROOT`` (an empty variable counts as unset);
3. the selected profile: the ``profile`` argument, else ``FLOWTRAIL_PROFILE``, else the
   profile file's ``default_profile``;
4. the embedded default: ``local`` metadata and a ``local`` datastore in the ``.flowtrail``
   folder found by walking up from the working directory, else ``<cwd>/.flowtrail``.

Resolution reads the environment mapping it is given, the profile file and the existence of
``.flowtrail`` folders; it never creates anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flowtrail.config.profiles import Profile, load_profiles
from flowtrail.config.settings import DB_FILENAME, HOME_DIRNAME, Settings
from flowtrail.config.spec import (
    absolute_path,
    check_service_url,
    mask_password,
    parse_metadata_spec,
    url_scheme,
)
from flowtrail.errors import InvalidArgument

__all__ = ["DATASTORES", "ENV_VARS", "TOKEN_ENV", "find_home", "local_home", "resolve_settings"]

#: The datastore types a setting may name.
DATASTORES: tuple[str, ...] = ("local", "s3", "gs", "memory")

#: The environment variable of each setting.
ENV_VARS: Mapping[str, str] = {
    "metadata": "FLOWTRAIL_METADATA",
    "service_url": "FLOWTRAIL_SERVICE_URL",
    "datastore": "FLOWTRAIL_DATASTORE",
    "datastore_root": "FLOWTRAIL_DATASTORE_ROOT",
    "profile": "FLOWTRAIL_PROFILE",
}

#: The environment variable holding the token a client sends to the flowtrail service.
TOKEN_ENV = "FLOWTRAIL_SERVICE_TOKEN"

# The URL schemes each remote datastore's root may have, and the datastore a scheme implies.
_ROOT_SCHEMES: Mapping[str, tuple[str, ...]] = {
    "s3": ("s3",),
    "gs": ("gs", "gcs"),
    "memory": ("memory",),
}
_DATASTORE_OF_SCHEME = {s: name for name, schemes in _ROOT_SCHEMES.items() for s in schemes}
_DEFAULT_ROOTS: Mapping[str, str] = {"memory": "memory://flowtrail"}

_ARGUMENT, _ENV, _PROFILE = 0, 1, 2  # precedence ranks: lower wins


@dataclass(frozen=True, slots=True)
class _Value:
    value: str
    source: str
    rank: int


def find_home(start: Path | None = None) -> Path | None:
    """Find the ``.flowtrail`` folder by walking up from ``start``.

    Args:
        start: The folder to start from (itself included); ``Path.cwd()`` when omitted.

    Returns:
        The ``.flowtrail`` directory in the nearest folder that has one, or ``None``.
    """
    folder = absolute_path(".", start)
    for candidate in (folder, *folder.parents):
        home = candidate / HOME_DIRNAME
        try:
            if home.is_dir():
                return home
        except OSError:  # an unreadable ancestor holds no home we could use
            continue
    return None


def local_home(path: Path) -> Path:
    """The home a ``local@PATH`` spec names: PATH itself, or, as Metaflow's ``local@PATH``
    names the folder holding ``.metaflow``, ``PATH/.flowtrail`` when PATH holds one and is
    not a home itself (no ``flowtrail.db`` in it, not named ``.flowtrail``).

    Args:
        path: The absolute folder of the spec.
    """
    nested = path / HOME_DIRNAME
    try:
        if path.name != HOME_DIRNAME and not (path / DB_FILENAME).exists() and nested.is_dir():
            return nested
    except OSError:  # an unreadable folder: it is taken as given
        pass
    return path


def resolve_settings(
    *,
    metadata: str | None = None,
    service_url: str | None = None,
    datastore: str | None = None,
    datastore_root: str | None = None,
    profile: str | None = None,
    service_token: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve where flowtrail records its history.

    Args:
        metadata: A metadata spec: ``local``, ``local@PATH``, a path, ``service``,
            ``service@URL``, an http(s) URL, ``sql@URL`` or a database URL.
        service_url: The service URL, used when the metadata spec is the bare ``service``.
            It only overrides the URL in a ``service@URL`` spec that came from a lower
            precedence source.
        datastore: ``local``, ``s3``, ``gs`` or ``memory``. When no source names it, a URL
            ``datastore_root`` implies it (``s3://...`` means ``s3``); otherwise ``local``,
            or ``service`` (blobs through the service, ``datastore_root`` its URL) when the
            metadata provider is a service.
        datastore_root: The blob folder (``local``) or URL (``s3://bucket/prefix``).
        profile: The profile of the profile file to use.
        service_token: The token sent to the service; else ``FLOWTRAIL_SERVICE_TOKEN``.
        env: The environment; ``os.environ`` read at call time when omitted.
        cwd: The working directory relative paths and the walk-up start from; ``Path.cwd()``
            when omitted.

    Returns:
        The settings, with the source of every value in ``Settings.sources``.

    Raises:
        InvalidArgument: A value is malformed (the message says which, from which source, and
            what is accepted); ``service`` has no URL; a remote datastore has no root; a
            profile was asked for that the profile file does not have.
    """
    env = os.environ if env is None else env
    cwd = absolute_path(".", cwd)
    selected, profile_source = _select_profile(profile, env, cwd)
    sources: dict[str, str] = {"profile": profile_source}

    default_home = find_home(cwd) or cwd / HOME_DIRNAME
    spec = _pick(metadata, env, "metadata", selected)
    kind, info = "local", None
    if spec is not None:
        try:
            kind, info = parse_metadata_spec(spec.value, cwd=cwd)
        except InvalidArgument as exc:
            raise _blame(exc, "metadata", spec) from exc
    sources["metadata"] = "default" if spec is None else spec.source

    if kind == "local":
        home = default_home if info is None else local_home(Path(info))
        location = str(home)
        sources["metadata_location"] = sources["home"] = (
            "default" if info is None or spec is None else spec.source
        )
    else:
        home = default_home
        sources["home"] = "default"
        location, sources["metadata_location"] = _remote_location(
            kind, info, spec, _pick(service_url, env, "service_url", selected)
        )

    store, store_source, root, root_source = _resolve_datastore(
        _pick(datastore, env, "datastore", selected),
        _pick(datastore_root, env, "datastore_root", selected),
        home,
        cwd,
    )
    if kind == "service" and store_source == "default" and root_source == "default":
        # No datastore is shared with the service: blobs go through it.
        store, root = "service", location
    sources["datastore"] = store_source
    sources["datastore_root"] = root_source
    token = service_token
    if token is not None:
        sources["service_token"] = "argument"
    elif env.get(TOKEN_ENV, "").strip():
        token = env[TOKEN_ENV].strip()
        sources["service_token"] = f"env:{TOKEN_ENV}"
    return Settings(
        metadata=kind,
        metadata_location=location,
        datastore=store,
        datastore_root=root,
        profile=None if selected is None else selected.name,
        home=home,
        sources=sources,
        service_token=token,
    )


def _select_profile(
    argument: str | None, env: Mapping[str, str], cwd: Path
) -> tuple[Profile | None, str]:
    # The file is read even when a profile is not asked for: it may name a default_profile,
    # and a broken file is better reported than silently ignored.
    profiles = load_profiles(env=env, cwd=cwd)
    var = ENV_VARS["profile"]
    if argument is not None:
        name, source = argument, "argument"
    elif env.get(var, "").strip():
        name, source = env[var].strip(), f"env:{var}"
    elif profiles.default_profile is not None:
        name, source = profiles.default_profile, f"default_profile ({profiles.path})"
    else:
        return None, "default"
    return profiles.get(name, requested_by=source), source


def _pick(
    argument: str | None, env: Mapping[str, str], key: str, profile: Profile | None
) -> _Value | None:
    if argument is not None:
        return _Value(argument, "argument", _ARGUMENT)
    var = ENV_VARS[key]
    from_env = env.get(var, "").strip()
    if from_env:
        return _Value(from_env, f"env:{var}", _ENV)
    if profile is not None:
        from_profile = profile.value(key)
        if from_profile is not None:
            return _Value(from_profile, profile.source, _PROFILE)
    return None


def _remote_location(
    kind: str, info: str | None, spec: _Value | None, url: _Value | None
) -> tuple[str, str]:
    # ``service_url`` fills in a bare ``service``; it also beats the URL of a ``service@URL``
    # spec that came from a lower-precedence source (argument beats env beats profile).
    assert spec is not None  # only a spec can select a remote provider
    if kind == "service" and url is not None and (info is None or url.rank < spec.rank):
        try:
            return check_service_url(url.value), url.source
        except InvalidArgument as exc:
            raise _blame(exc, "service_url", url) from exc
    if info is None:
        raise InvalidArgument(
            f"metadata 'service' (from {spec.source}) needs the service URL: set "
            "FLOWTRAIL_SERVICE_URL=http://host:port, pass service_url=..., add service_url to "
            "the profile, or use metadata 'service@http://host:port'",
            details={"field": "service_url", "source": spec.source},
        )
    return info, spec.source


def _resolve_datastore(
    store: _Value | None, root: _Value | None, home: Path, cwd: Path
) -> tuple[str, str, str, str]:
    """Return (datastore, its source, datastore_root, its source)."""
    if store is not None:
        name, name_source = store.value.strip(), store.source
        if name not in DATASTORES:
            raise InvalidArgument(
                f"unknown datastore {store.value!r} (from {store.source}); accepted: "
                f"{', '.join(DATASTORES)}",
                details={"field": "datastore", "given": store.value, "accepted": list(DATASTORES)},
            )
    elif root is not None and url_scheme(root.value) is not None:
        scheme = url_scheme(root.value) or ""
        if scheme not in _DATASTORE_OF_SCHEME:
            raise _bad_root(root, f"the scheme {scheme!r} names no datastore")
        name, name_source = _DATASTORE_OF_SCHEME[scheme], root.source
    else:
        name, name_source = "local", "default"

    # A root from a lower-precedence source that belongs to another datastore type (the
    # profile's s3:// root when FLOWTRAIL_DATASTORE=local) went with that type: drop it.
    if (
        store is not None
        and root is not None
        and root.rank > store.rank
        and url_scheme(root.value) not in _ROOT_SCHEMES.get(name, (None,))
    ):
        root = None

    if name == "local":
        if root is None:
            return name, name_source, str(home), "default"
        root_scheme = url_scheme(root.value)
        if root_scheme is not None:
            hint = _DATASTORE_OF_SCHEME.get(root_scheme)
            raise _bad_root(
                root,
                "the local datastore takes a folder path"
                + (f"; for this URL set the datastore to {hint!r}" if hint else ""),
            )
        return name, name_source, str(absolute_path(root.value, cwd)), root.source

    if root is None:
        if name in _DEFAULT_ROOTS:
            return name, name_source, _DEFAULT_ROOTS[name], "default"
        example = f"{_ROOT_SCHEMES[name][0]}://bucket/prefix"
        raise InvalidArgument(
            f"datastore {name!r} (from {name_source}) needs a datastore_root such as "
            f"{example}: set FLOWTRAIL_DATASTORE_ROOT, pass datastore_root=..., or add "
            "datastore_root to the profile",
            details={"field": "datastore_root", "datastore": name},
        )
    value = root.value.strip()
    schemes = _ROOT_SCHEMES[name]
    if url_scheme(value) not in schemes or not urlsplit(value).netloc:
        raise _bad_root(root, f"datastore {name!r} takes a root like {schemes[0]}://bucket/prefix")
    return name, name_source, value.rstrip("/"), root.source


def _bad_root(root: _Value, reason: str) -> InvalidArgument:
    shown = mask_password(root.value)
    return InvalidArgument(
        f"invalid datastore_root {shown!r} (from {root.source}): {reason}; accepted "
        f"datastores: {', '.join(DATASTORES)}",
        details={"field": "datastore_root", "given": shown, "source": root.source},
    )


def _blame(exc: InvalidArgument, field: str, value: _Value) -> InvalidArgument:
    return InvalidArgument(
        f"{field} from {value.source}: {exc.message}",
        details={**exc.details, "field": field, "source": value.source},
    )
