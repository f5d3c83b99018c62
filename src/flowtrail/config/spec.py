"""The metadata specs users type, and the masking of passwords in URLs.

A metadata spec names a metadata provider and where it lives, in the forms Metaflow's
``metadata(ms)`` accepts plus one for SQL databases:

``local``
    The embedded store, found by walking up from the working directory.
``local@PATH`` or a bare path (``/abs``, ``./rel``, ``~/x``, ``..``)
    The embedded store in that ``.flowtrail`` folder.
``service``
    The flowtrail service whose URL comes from ``FLOWTRAIL_SERVICE_URL`` (or ``service_url``).
``service@URL`` or a bare ``http://`` / ``https://`` URL
    The flowtrail service at that URL.
``sql@URL`` or a bare database URL (``sqlite:///...``, ``postgresql+psycopg://...``)
    A SQL database opened directly.

Parsing is pure: it reads neither the environment nor the file system (except for the working
directory when a relative path is given and no ``cwd`` is passed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from flowtrail.errors import InvalidArgument

__all__ = [
    "ACCEPTED_FORMS",
    "METADATA_KINDS",
    "SQL_DIALECTS",
    "absolute_path",
    "check_database_url",
    "check_service_url",
    "mask_password",
    "parse_metadata_spec",
    "sqlite_file",
    "url_scheme",
]

#: The metadata provider types, as they appear in ``Settings.metadata``.
METADATA_KINDS: tuple[str, ...] = ("local", "sql", "service")

#: The SQL dialects a ``sql`` metadata URL may name (``dialect`` or ``dialect+driver``).
SQL_DIALECTS: tuple[str, ...] = ("sqlite", "postgresql")

#: Every form :func:`parse_metadata_spec` accepts, as shown in its error messages.
ACCEPTED_FORMS: tuple[str, ...] = (
    "'local'",
    "'local@PATH'",
    "a folder path ('/abs/path', './relative', '~/path')",
    "'service' (with FLOWTRAIL_SERVICE_URL set)",
    "'service@URL'",
    "an http:// or https:// URL",
    "'sql@URL'",
    "a database URL ('sqlite:///file.db', 'postgresql://...', 'postgresql+psycopg://...')",
)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_QUERY_SECRET = re.compile(r"([?&](?:password|passwd|pwd)=)[^&#]*", re.IGNORECASE)


def parse_metadata_spec(spec: str, *, cwd: Path | None = None) -> tuple[str, str | None]:
    """Parse a metadata spec into its provider type and location.

    Args:
        spec: What the user typed, in any form listed in the module docstring.
        cwd: The folder relative paths are taken against; ``Path.cwd()`` when omitted.

    Returns:
        ``(kind, info)`` where ``kind`` is ``"local"``, ``"service"`` or ``"sql"``. ``info``
        is the absolute folder path (local), the service URL without a trailing slash
        (service) or the database URL, with a relative SQLite file made absolute (sql);
        ``None`` for the bare words ``local`` and ``service``.

    Raises:
        InvalidArgument: The spec has none of the accepted forms; the message lists them and
            shows what was given (with any password masked).
    """
    text = spec.strip()
    if text in ("local", "service"):
        return text, None
    if text == "sql":
        raise _invalid(spec, "'sql' needs a database URL: write sql@URL")
    kind, at, info = text.partition("@")
    if at and kind in METADATA_KINDS:
        info = info.strip()
        if not info:
            raise _invalid(spec, f"nothing follows '{kind}@'")
        if kind == "local":
            if url_scheme(info) is not None:
                raise _invalid(spec, "local@ takes a folder path, not a URL")
            return "local", str(absolute_path(info, cwd))
        if kind == "service":
            return "service", check_service_url(info, given=spec)
        return "sql", check_database_url(info, given=spec, cwd=cwd)
    scheme = url_scheme(text)
    if scheme is not None:
        if scheme in ("http", "https"):
            return "service", check_service_url(text, given=spec)
        if scheme.partition("+")[0] in SQL_DIALECTS:
            return "sql", check_database_url(text, given=spec, cwd=cwd)
        raise _invalid(spec, f"the URL scheme {scheme!r} is neither http(s) nor a database")
    if _looks_like_path(text):
        return "local", str(absolute_path(text, cwd))
    raise _invalid(spec, None)


def check_service_url(url: str, *, given: str | None = None) -> str:
    """Check that ``url`` is an ``http://`` or ``https://`` URL with a host.

    Args:
        url: The service URL.
        given: The whole spec the URL came from, for the error message; ``url`` if omitted.

    Returns:
        The URL without its trailing slash.

    Raises:
        InvalidArgument: The URL is not http(s) or has no host.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        ok = False
    if not ok:
        raise _invalid(
            url if given is None else given,
            "a service URL looks like http://host:port or https://host/prefix",
        )
    return text.rstrip("/")


def check_database_url(url: str, *, given: str | None = None, cwd: Path | None = None) -> str:
    """Check that ``url`` is a SQLite or PostgreSQL URL; make a relative SQLite file absolute.

    Args:
        url: The database URL (``sqlite:///file.db``, ``postgresql+psycopg://u@h/db``, ...).
        given: The whole spec the URL came from, for the error message; ``url`` if omitted.
        cwd: The folder a relative SQLite file is taken against; ``Path.cwd()`` when omitted.

    Returns:
        The URL; ``sqlite:///rel.db`` becomes ``sqlite:////<cwd>/rel.db`` so that the database
        does not depend on the process's working directory. In-memory and ``file:`` URI
        forms are kept as they are.

    Raises:
        InvalidArgument: The scheme names no supported dialect, or a SQLite URL has a host.
    """
    text = url.strip()
    shown = url if given is None else given
    scheme = url_scheme(text)
    if scheme is None or scheme.partition("+")[0] not in SQL_DIALECTS:
        raise _invalid(
            shown, f"a database URL starts with one of {', '.join(SQL_DIALECTS)} (+driver)://"
        )
    if scheme.partition("+")[0] != "sqlite":
        return text
    rest = text[len(scheme) + 3 :]
    if rest == "":
        return text  # sqlite:// is the in-memory database
    if not rest.startswith("/"):
        raise _invalid(shown, "a SQLite URL looks like sqlite:///relative.db or sqlite:////abs.db")
    path, q, query = rest[1:].partition("?")
    if path in ("", ":memory:") or path.startswith("file:") or Path(path).is_absolute():
        return text
    absolute = absolute_path(path, cwd).as_posix()
    return f"{scheme}:///{absolute}{q}{query}"


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite://`` URL names (as :func:`check_database_url` returns it), or
    ``None`` for another database, in-memory SQLite or a ``file:`` URI."""
    scheme = url_scheme(url)
    if scheme is None or scheme.partition("+")[0] != "sqlite":
        return None
    path = url[len(scheme) + 3 :][1:].partition("?")[0]
    if path in ("", ":memory:") or path.startswith("file:"):
        return None
    return Path(path)


def mask_password(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``.

    Both the ``user:password@`` part and ``password=`` query parameters are masked. Anything
    that is not a URL is returned unchanged.

    Args:
        url: A URL that may carry credentials.

    Returns:
        The URL, safe to print or log.
    """
    match = _SCHEME.match(url)
    if match is None:
        return url
    head, rest = url[: match.end()], url[match.end() :]
    # A password may hold '@', '/' or '?' (SQLAlchemy takes them unescaped); a host cannot hold
    # '@'. The credentials end at the last '@' before the query, or else at an '@' with no '/'
    # before it (a '?' in the password); an '@' inside the query is no credential.
    query = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, query)
    if at < 0 and "/" not in rest[: max(rest.find("@"), 0)]:
        at = rest.find("@")
    if at >= 0:
        user, colon, _ = rest[:at].partition(":")
        if colon:
            rest = f"{user}:***{rest[at:]}"
    return head + _QUERY_SECRET.sub(r"\1***", rest)


def url_scheme(text: str) -> str | None:
    """Return the lower-cased scheme of ``text`` if it looks like ``scheme://...``, else None.

    Args:
        text: Anything the user typed.

    Returns:
        The scheme, such as ``"s3"`` or ``"postgresql+psycopg"``, or ``None``.
    """
    match = _SCHEME.match(text.strip())
    return None if match is None else match.group(1).lower()


def absolute_path(text: str, cwd: Path | None = None) -> Path:
    """Make a user-typed path absolute: expand ``~``, join to ``cwd``, collapse ``..``.

    Symbolic links are kept as they are: the path the user named is the path shown.

    Args:
        text: A path, absolute or relative.
        cwd: The folder a relative path is taken against; ``Path.cwd()`` when omitted.

    Returns:
        The absolute, normalised path.
    """
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (Path.cwd() if cwd is None else cwd) / path
    return Path(os.path.normpath(path))


def _looks_like_path(text: str) -> bool:
    # Only what is unmistakably a path: a bare word such as 'garbage' or 'locl' is a typo,
    # not a folder, and it is refused rather than silently opening an empty store.
    return (
        text.startswith(("/", "~", "."))
        or "/" in text
        or os.sep in text
        or Path(text).is_absolute()
    )


def _invalid(given: str, reason: str | None) -> InvalidArgument:
    shown = mask_password(given)
    because = f" ({reason})" if reason else ""
    return InvalidArgument(
        f"invalid metadata spec {shown!r}{because}; accepted forms: {', '.join(ACCEPTED_FORMS)}",
        details={"given": shown, "accepted": list(ACCEPTED_FORMS)},
    )
