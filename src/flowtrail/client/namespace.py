"""Namespaces: which runs the client shows.

A namespace is a tag. With the namespace ``user:alice`` the client shows only runs tagged
``user:alice`` (every run carries the ``user:<name>`` system tag of whoever started it), and
refuses to instantiate objects of other runs. ``namespace(None)`` shows everything. The
default namespace is ``user:<current user>``; it is worked out at the first call, never at
import time.
"""

from __future__ import annotations

import threading

from flowtrail.config.identity import current_user
from flowtrail.model import validate_tag

__all__ = ["default_namespace", "get_namespace", "namespace", "user_namespace"]

_lock = threading.Lock()
_UNSET = object()
_current: object = _UNSET  # a str, None (every namespace) or _UNSET (the default, not yet read)


def user_namespace() -> str:
    """The default namespace: ``user:`` and the login name of the current user."""
    return f"user:{current_user()}"


def namespace(ns: str | None) -> str | None:
    """Switch the namespace for objects created from now on.

    Args:
        ns: A tag, such as ``user:alice`` or ``team:ml``; ``None`` to see every run.

    Returns:
        The namespace now in force (what :func:`get_namespace` returns).

    Raises:
        InvalidTag: ``ns`` is not a valid tag.
    """
    global _current
    if ns is not None:
        validate_tag(ns)
    with _lock:
        _current = ns
    return ns


def get_namespace() -> str | None:
    """The namespace in force: a tag, or ``None`` when every run is visible."""
    global _current
    with _lock:
        if _current is _UNSET:
            _current = user_namespace()
        assert _current is None or isinstance(_current, str)
        return _current


def default_namespace() -> str:
    """Go back to the default namespace, ``user:<current user>``, and return it."""
    return str(namespace(user_namespace()))
