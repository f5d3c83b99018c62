"""Who is running flowtrail: the name a run records as its user and the default namespace."""

from __future__ import annotations

import getpass

__all__ = ["current_user"]


def current_user() -> str:
    """The login name of the current user, or ``"unknown"`` when the system has none."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no USER/LOGNAME variable and no password-file entry
        return "unknown"
