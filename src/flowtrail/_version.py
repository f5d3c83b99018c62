"""The package's version, in one place: ``pyproject.toml`` reads it from here when the package
is built, and ``flowtrail.__version__`` imports it (no package-metadata lookup at import)."""

__version__ = "0.1.0"
