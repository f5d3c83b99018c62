"""Compatibility layers: flowtrail's client under the names other libraries use.

:mod:`flowtrail.compat.metaflow` offers Metaflow's client names, so that an analysis script
written for Metaflow's client runs with one import changed.
"""

from __future__ import annotations

__all__: list[str] = []
