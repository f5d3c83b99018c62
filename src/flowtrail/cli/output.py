"""How the reading commands print: the ``--output table|json`` option, JSON for scripts, and
rich tables (with times, durations and sizes written for people) for everyone else.

JSON output has stable keys, times in ISO 8601 (UTC, with their offset), durations in
seconds and sizes in bytes; tables show local times, rounded durations and sizes in KiB/MiB.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = [
    "cell",
    "duration_seconds",
    "echo_json",
    "format_duration",
    "format_size",
    "format_time",
    "new_table",
    "output_option",
    "print_fields",
    "print_table",
]

F = TypeVar("F", bound=Callable[..., Any])


def output_option(func: F) -> F:
    """The ``-o/--output table|json`` option."""
    return click.option(
        "--output",
        "-o",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="A table for people, or JSON for scripts (stable keys, ISO times).",
    )(func)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    return str(value)


def echo_json(data: Any) -> None:
    """Print ``data`` as indented, strict JSON (datetimes as ISO text, enums as their
    values; NaN and infinities, which JSON has no number for, as ``null``)."""
    text = json.dumps(_finite(data), indent=2, default=_jsonable, ensure_ascii=False)
    click.echo(text)


def _finite(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(value) for value in data]
    return data


def duration_seconds(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from ``start`` to ``end`` (to the millisecond), or ``None`` if either is
    missing."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def format_time(value: datetime | None) -> str:
    """A time in the local time zone, to the second: ``2026-03-01 14:05:09``; ``-`` for none."""
    if value is None:
        return "-"
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None, *, since: datetime | None = None) -> str:
    """``850ms``, ``4.2s``, ``3m 05s``, ``2h 07m``; ``-`` for none.

    Args:
        seconds: The duration, or ``None`` for something not finished.
        since: For something not finished, when it started: the time so far is shown,
            followed by ``…``.
    """
    suffix = ""
    if seconds is None:
        if since is None:
            return "-"
        seconds = (datetime.now(UTC) - since).total_seconds()
        suffix = "…"
    if seconds < 1:
        text = f"{seconds * 1000:.0f}ms"
    elif seconds < 60:
        text = f"{seconds:.1f}s"
    elif seconds < 3600:
        text = f"{int(seconds // 60)}m {int(seconds % 60):02d}s"
    else:
        text = f"{int(seconds // 3600)}h {int(seconds % 3600 // 60):02d}m"
    return text + suffix


def format_size(size: int | None) -> str:
    """``512 B``, ``1.5 KiB``, ``3.2 MiB``, ``1.1 GiB``; ``-`` for none."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def cell(value: Any) -> Text:
    """A table cell showing ``value`` literally (no rich markup): times formatted, lists
    joined with ``, ``, ``None`` as ``-``."""
    if value is None:
        return Text("-", style="dim")
    if isinstance(value, datetime):
        return Text(format_time(value))
    if isinstance(value, Enum):
        return Text(str(value.value))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return Text(", ".join(str(item) for item in items))
    return Text(str(value))


def new_table(*columns: str, title: str | None = None) -> Table:
    """An empty table in the style of every flowtrail listing."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    styles: Iterable[str | None] = (),
    title: str | None = None,
) -> None:
    """Print a table of ``rows`` (each cell shown with :func:`cell`).

    Args:
        columns: The column headings.
        rows: The rows, one value per column.
        styles: A rich style per row (``None`` for plain), e.g. to highlight one.
        title: A line above the table.
    """
    table = new_table(*columns, title=title)
    style_of = iter(styles)
    for row in rows:
        table.add_row(
            *(value if isinstance(value, Text) else cell(value) for value in row),
            style=next(style_of, None),
        )
    Console(soft_wrap=False).print(table)


def print_fields(fields: Mapping[str, Any], *, title: str | None = None) -> None:
    """Print ``name  value`` pairs, one a line, as a two-column table without headings."""
    table = Table(box=None, show_header=False, title=title, title_justify="left", pad_edge=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in fields.items():
        table.add_row(name, value if isinstance(value, Text) else cell(value))
    Console(soft_wrap=False).print(table)
