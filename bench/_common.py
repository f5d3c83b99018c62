"""What the bench commands share: timing and percentiles, fresh databases (a SQLite file in
a temporary folder, a PostgreSQL database dropped afterwards), the plans of what a call
executes, machine facts, progress lines and a plain-text table.

Bench commands measure; they never assert. A goal that is missed is reported, and the
command still exits 0.
"""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from flowtrail.store.sql.dialects import WRITE_OPTION, explain, is_sqlite

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "POSTGRES_ENV",
    "PeerUnavailable",
    "PostgresUnavailable",
    "Progress",
    "analyze",
    "database_size",
    "fresh_postgres_database",
    "machine_info",
    "percentile_ms",
    "plans_of",
    "postgres_url",
    "postgres_version",
    "provide_venv",
    "ratio_text",
    "render_table",
    "sqlite_database",
    "time_calls",
    "write_connection",
]

POSTGRES_ENV = "FLOWTRAIL_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# -- timing ------------------------------------------------------------------------------


def time_calls(call: Callable[[], object], samples: int, warmup: int) -> list[int]:
    """Call ``call`` ``warmup`` times untimed, then ``samples`` times; the durations in ns."""
    for _ in range(warmup):
        call()
    durations: list[int] = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        call()
        durations.append(time.perf_counter_ns() - start)
    return durations


def percentile_ms(durations_ns: Sequence[int], q: float) -> float:
    """The ``q`` percentile (0 to 100, nearest rank) of durations in ns, in milliseconds."""
    if not durations_ns:
        raise ValueError("no samples")
    ordered = sorted(durations_ns)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1] / 1e6


def ratio_text(measured: float, goal: float, *, higher_is_better: bool) -> tuple[bool, str]:
    """Whether ``measured`` meets ``goal``, and by what factor it is over or under it:
    ``(True, '16.7x under')`` for 0.3 ms against a 5 ms ceiling."""
    met = measured >= goal if higher_is_better else measured <= goal
    low, high = sorted((measured, goal))
    factor = high / low if low > 0 else math.inf
    return met, f"{factor:.1f}x {'over' if measured >= goal else 'under'}"


def plans_of(engine: sa.Engine, call: Callable[[], object]) -> str:
    """Run ``call`` once, noting every statement it has ``engine`` execute, then return the
    database's plan of each ``SELECT`` (``explain`` of the store's dialects module)."""
    seen: list[sa.Executable] = []

    def note(conn: sa.Connection, statement: sa.Executable, *args: object) -> None:
        if isinstance(statement, sa.Select):
            seen.append(statement)

    sa.event.listen(engine, "before_execute", note)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_execute", note)
    with engine.connect() as conn:
        plans = [
            f"statement {i}: {' '.join(str(s).split())[:160]}\n  "
            + explain(conn, s).replace("\n", "\n  ")
            for i, s in enumerate(seen, 1)
        ]
    return f"{len(seen)} statements\n" + "\n".join(plans)


# -- output ------------------------------------------------------------------------------


class Progress:
    """Progress lines on stderr with the seconds since the bench started, so that stdout
    holds only the report."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self._start:7.1f}s] {message}", file=sys.stderr, flush=True)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: columns padded to their widest cell, a rule under the header."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
    return "\n".join(lines)


def machine_info(postgres_version: str | None) -> list[str]:
    """Facts about the machine and the software measured, one per line."""
    load = ""
    if hasattr(os, "getloadavg"):
        load = " (load average {:.2f} {:.2f} {:.2f})".format(*os.getloadavg())
    lines = [
        f"machine:    {platform.machine()} {platform.system()} {platform.release()}, "
        f"{os.cpu_count()} cores{load}",
        f"python:     {platform.python_implementation()} {platform.python_version()}",
        f"sqlite:     {sqlite3.sqlite_version}",
        f"sqlalchemy: {sa.__version__}",
    ]
    if postgres_version:
        lines.append(f"postgresql: {postgres_version}")
    return lines


# -- databases ---------------------------------------------------------------------------


def write_connection(engine: sa.Engine) -> sa.Connection:
    """A connection whose transactions are writes (``BEGIN IMMEDIATE`` on SQLite)."""
    return engine.connect().execution_options(**{WRITE_OPTION: True})


def analyze(engine: sa.Engine) -> None:
    """Refresh the planner's statistics (``ANALYZE``; ``VACUUM ANALYZE`` on PostgreSQL), let
    the bulk fill settle (SQLite: checkpoint the write-ahead log into the file; PostgreSQL:
    a CHECKPOINT), and drop pooled connections so that every later one plans with them.

    Without the checkpoint, the measured writes would pay for copying the fill's pages
    from the log: a cost of loading 100,000 runs at once, not of recording tasks.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # PostgreSQL: VACUUM too, setting the visibility map as autovacuum keeps it on a
        # database in service (its index-only scans are planned and run on it)
        conn.exec_driver_sql("ANALYZE" if is_sqlite(engine) else "VACUUM ANALYZE")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(
            "PRAGMA wal_checkpoint(TRUNCATE)" if is_sqlite(engine) else "CHECKPOINT"
        )
    engine.dispose()


def database_size(engine: sa.Engine) -> str:
    """The size of the database on disk (the SQLite file with its WAL), in MiB."""
    if is_sqlite(engine):
        path = Path(engine.url.database or "")
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    else:
        with engine.connect() as conn:
            query = sa.text("SELECT pg_database_size(current_database())")
            size = int(conn.execute(query).scalar_one())
    return f"{size / 2**20:,.0f} MiB"


@contextmanager
def sqlite_database() -> Iterator[str]:
    """The URL of a new SQLite file in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="flowtrail-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'store.db'}"


# -- PostgreSQL --------------------------------------------------------------------------


def postgres_url(url: str) -> str:
    """``url`` with the psycopg driver (``postgresql://`` means psycopg to flowtrail too)."""
    parsed = make_url(url)
    if parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class PostgresUnavailable(Exception):
    """The PostgreSQL server named cannot be reached (the bench skips that backend)."""


@contextmanager
def fresh_postgres_database(base_url: str, prefix: str = "flowtrail_bench") -> Iterator[str]:
    """Create an empty database next to ``base_url``'s, yield its URL, and drop it on the
    way out, whatever happened in between (``DROP DATABASE ... WITH (FORCE)`` closes
    connections left open).

    Raises:
        PostgresUnavailable: the server does not answer or refuses to create the database.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    base_url = postgres_url(base_url)
    admin = sa.create_engine(
        make_url(base_url), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.ProgrammingError) as exc:
        admin.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        shown = make_url(base_url).render_as_string(hide_password=True)
        raise PostgresUnavailable(f"PostgreSQL at {shown} is unavailable: {reason}") from None
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_version(base_url: str) -> str | None:
    """The server's version string, or ``None`` when it cannot be reached."""
    engine = sa.create_engine(postgres_url(base_url), connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar_one())
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        return None
    finally:
        engine.dispose()


# -- peers in their own virtual environments -----------------------------------------------


class PeerUnavailable(Exception):
    """A peer system cannot be installed or started here (the reason is the message)."""


def _tail(text: str, lines: int = 6, width: int = 300) -> str:
    """The end of a failed command's output on one line (its ``ERROR`` lines if any)."""
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in kept if line.startswith("ERROR")]
    cut = [line if len(line) <= width else line[: width - 3] + "..." for line in errors or kept]
    return " | ".join(cut[-lines:])


def provide_venv(
    venv: Path, requirement: str, module: str, progress: Callable[[str], None], timeout: float
) -> tuple[str, str]:
    """The interpreter of ``venv`` and the version of ``module`` it imports: the venv is
    created with ``python -m venv`` and ``requirement`` pip-installed into it when it does not
    import ``module`` at the version pinned (``metaflow==2.19.39``) yet; reused after.

    Raises:
        PeerUnavailable: creating the venv or the install failed, or the module won't import.
    """
    python = str(venv / "bin" / "python")
    probe = f"import {module}, sys; sys.stdout.write({module}.__version__)"

    def version() -> str | None:
        if not Path(python).exists():
            return None
        try:
            done = subprocess.run(
                [python, "-c", probe], capture_output=True, text=True, timeout=120
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None

    wanted = requirement.partition("==")[2]
    found = version()
    if found is not None and (not wanted or found == wanted):
        return python, found
    steps = []
    if not Path(python).exists():
        steps.append(("create the virtual environment", [sys.executable, "-m", "venv", str(venv)]))
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    steps.append((f"pip install {requirement}", [*pip, requirement]))
    for what, command in steps:
        progress(f"{module}: {what} ({venv})")
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PeerUnavailable(f"{what} took over {timeout:g} s") from None
        if done.returncode != 0:
            reason = _tail(done.stderr or done.stdout)
            raise PeerUnavailable(f"{what} failed (exit {done.returncode}): {reason}")
    found = version()
    if found is None:
        raise PeerUnavailable(f"{requirement} was installed into {venv} but does not import")
    return python, found
