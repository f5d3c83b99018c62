"""``python -m flowtrail``: the command line, exactly as the ``flowtrail`` script runs it."""

from __future__ import annotations

from flowtrail.cli.main import main

if __name__ == "__main__":
    main()
