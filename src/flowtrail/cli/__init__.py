"""The ``flowtrail`` command line, built with click.

:data:`~flowtrail.cli.main.cli` is the top-level group and :func:`~flowtrail.cli.main.main`
the console script. Each command group lives in its own module (``db``, ``config``, ...) and
is registered on the top-level group in :mod:`flowtrail.cli.main`. Nothing is read when this
package is imported: every command resolves the settings when it runs.
"""

from __future__ import annotations

from flowtrail.cli.context import CliContext
from flowtrail.cli.main import cli, main

__all__ = ["CliContext", "cli", "main"]
