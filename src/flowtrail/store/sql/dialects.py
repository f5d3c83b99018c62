"""Every difference between SQLite and PostgreSQL that the SQL store knows about, in one
module: how an engine is made, how a write transaction begins, "insert unless present",
how text is matched against a glob and compared by code point, and how a query plan is read.

SQLite runs in WAL mode with ``foreign_keys=ON`` and a busy timeout; reads begin deferred
transactions and writes begin ``BEGIN IMMEDIATE``, so a writer takes the write lock before
it reads and concurrent writers queue on the busy timeout instead of failing with
"database is locked" halfway through.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = [
    "BUSY_TIMEOUT_MS",
    "WRITE_OPTION",
    "binary_text",
    "bulk_insert",
    "bulk_update",
    "create_engine",
    "explain",
    "glob_match",
    "glob_prefix",
    "in_values",
    "insert_ignore",
    "insert_or_add",
    "insert_returning",
    "is_sqlite",
    "load_json",
    "reads_on_driver",
    "unit_joined",
]

BUSY_TIMEOUT_MS = 30_000
#: Execution option that marks a connection's transaction as a write (``BEGIN IMMEDIATE``).
WRITE_OPTION = "flowtrail_write"


def is_sqlite(bind: Engine | Connection) -> bool:
    """True when ``bind`` talks to SQLite."""
    return bind.dialect.name == "sqlite"


def reads_on_driver(engine: Engine) -> bool:
    """Whether the store runs its one-statement reads on driver connections of its own
    (:class:`~flowtrail.store.sql.reads.DriverReads`): SQLite files. Not PostgreSQL, whose
    connections need the pool's liveness checks, nor in-memory SQLite, one connection."""
    return is_sqlite(engine) and engine.url.database not in (None, "", ":memory:")


def create_engine(url: str | URL) -> Engine:
    """Create an engine for a ``sqlite://`` or ``postgresql+psycopg://`` URL, configured as
    flowtrail needs it (see the module docstring)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return sa.create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"connect_timeout": 5},
    )


_json_decode = json.JSONDecoder().decode
#: The JSON texts most columns hold (no trigger, no flow metadata, no code package), made
#: without the decoder: a page of runs decodes four JSON columns a run.
_JSON_CONSTANTS: dict[str, Callable[[], Any]] = {
    "{}": dict,
    "[]": list,
    "null": lambda: None,
}


def load_json(text: str) -> Any:
    """Decode a JSON column read from SQLite (PostgreSQL's driver decodes ``jsonb``); the
    texts most columns hold are made without the decoder."""
    make = _JSON_CONSTANTS.get(text)
    return make() if make is not None else _json_decode(text)


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        # An in-memory database lives in its one connection: every user shares it.
        poolclass=StaticPool if in_memory else None,
        json_deserializer=load_json,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # flowtrail issues BEGIN itself (below); pysqlite's own transaction handling
        # would begin deferred transactions at the first write instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # A 64 MiB page cache (the default is 2 MiB): a batch touches many index pages,
        # and at 100,000 runs they no longer fit in the default.
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        # Straight to the driver: through ``exec_driver_sql`` a BEGIN costs as much as a
        # point read (a cursor, a result, the execution events), and every store call
        # begins one. Its errors are wrapped as SQLAlchemy would (a lock not granted
        # within the busy timeout is an OperationalError).
        try:
            connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc

    return engine


def insert_ignore(bind: Connection | sa.Dialect, table: sa.Table) -> Any:
    """An ``INSERT`` into ``table`` that skips rows whose key exists already."""
    dialect = bind if isinstance(bind, sa.Dialect) else bind.dialect
    module = sqlite if dialect.name == "sqlite" else postgresql
    return module.insert(table).on_conflict_do_nothing()


def insert_or_add(bind: Connection, table: sa.Table, key: Sequence[str], column: str) -> Any:
    """An ``INSERT`` into ``table`` that, for a row whose ``key`` exists already, adds the
    row's ``column`` to the one stored instead (``ON CONFLICT (key) DO UPDATE``): a counter
    that concurrent transactions increment without a lost update."""
    module = sqlite if is_sqlite(bind) else postgresql
    insert = module.insert(table)
    return insert.on_conflict_do_update(
        index_elements=list(key), set_={column: table.c[column] + insert.excluded[column]}
    )


def bulk_insert(
    bind: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], *, ignore: bool = False
) -> None:
    """Insert many rows of the same columns (``ignore``: skipping rows whose key exists).

    Each value goes through its column type's own bind processor (epoch milliseconds,
    JSON): the values ``Connection.execute(insert, rows)`` would send, without its per-row
    bookkeeping, which is most of a batch's time when it carries thousands of rows.

    SQLite runs one compiled ``INSERT`` per table and column set as an ``executemany``.
    PostgreSQL would run that ``executemany`` as one statement a row, each with its own
    round of parse, plan and execute on the server; instead the rows go in as one
    ``COPY ... FROM STDIN`` (about half the time, a sixth of the client's CPU), or, with
    ``ignore``, which ``COPY`` cannot do, as one ``INSERT ... SELECT FROM unnest(...)
    ON CONFLICT DO NOTHING`` with an array a column. Both are one statement whatever the
    number of rows, so no parameter limit applies.
    """
    if not rows:
        return
    columns = tuple(rows[0])
    if bind.dialect.name == "postgresql":
        _pg_bulk_insert(bind, table, columns, rows, ignore)
        return
    sql, order, processors = _compiled_insert(bind.dialect, table, columns, ignore)
    positional = bind.dialect.paramstyle in ("qmark", "numeric", "format")
    params: list[Any] = []
    for row in rows:
        values = {
            key: processors[key](row[key]) if key in processors else row[key] for key in columns
        }
        params.append(tuple(values[key] for key in order) if positional else values)
    bind.exec_driver_sql(sql, params)


_CompiledInsert = tuple[str, tuple[str, ...], dict[str, Callable[[Any], Any]]]


@functools.lru_cache(maxsize=128)
def _compiled_insert(
    dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...], ignore: bool
) -> _CompiledInsert:
    stmt = insert_ignore(dialect, table) if ignore else sa.insert(table)
    # for_executemany: no implicit RETURNING of the key, which only one-row inserts use.
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns), for_executemany=True)
    order = tuple(compiled.positiontup or columns)
    return str(compiled), order, _bind_processors(dialect, table, columns)


def _bind_processors(
    dialect: sa.Dialect, table: sa.Table, columns: Sequence[str]
) -> dict[str, Callable[[Any], Any]]:
    processors: dict[str, Callable[[Any], Any]] = {}
    for name in columns:
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    return processors


@functools.lru_cache(maxsize=128)
def _pg_bulk_sql(
    dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...], mode: str
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The ``COPY`` (``mode`` "copy"), or the ``unnest`` insert ("ignore": skipping rows
    whose key exists; "returning": to be followed by a ``RETURNING``) of ``columns`` into
    ``table``, and each column's bind processor."""
    prep = dialect.identifier_preparer
    names = ", ".join(prep.quote(name) for name in columns)
    target = f"{prep.format_table(table)} ({names})"
    if mode == "copy":
        sql = f"COPY {target} FROM STDIN"
    else:
        arrays = ", ".join(
            f"%s::{table.c[name].type.compile(dialect=dialect)}[]" for name in columns
        )
        sql = f"INSERT INTO {target} SELECT * FROM unnest({arrays})"
        if mode == "ignore":
            sql += " ON CONFLICT DO NOTHING"
    processors = _bind_processors(dialect, table, columns)
    return sql, tuple(processors.get(name) for name in columns)


def _row_values(
    rows: Sequence[dict[str, Any]],
    columns: tuple[str, ...],
    processors: tuple[Callable[[Any], Any] | None, ...],
) -> list[tuple[Any, ...]]:
    pairs = tuple(zip(columns, processors, strict=True))
    return [tuple(row[name] if p is None else p(row[name]) for name, p in pairs) for row in rows]


def _pg_bulk_insert(
    bind: Connection,
    table: sa.Table,
    columns: tuple[str, ...],
    rows: Sequence[dict[str, Any]],
    ignore: bool,
) -> None:
    sql, processors = _pg_bulk_sql(bind.dialect, table, columns, "ignore" if ignore else "copy")
    values = _row_values(rows, columns, processors)
    # SQLAlchemy has no COPY: the statement runs on the driver's cursor, inside the
    # connection's transaction, and a driver error is wrapped as SQLAlchemy would wrap it
    # (the store translates those).
    dbapi = bind.dialect.loaded_dbapi
    driver: Any = bind.connection.driver_connection  # a psycopg.Connection
    try:
        with driver.cursor() as cursor:
            if ignore:
                cursor.execute(sql, [list(column) for column in zip(*values, strict=True)])
            else:
                with cursor.copy(sql) as copy:
                    for value in values:
                        copy.write_row(value)
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=bind.dialect) from exc


def insert_returning(
    bind: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], returning: Sequence[str]
) -> list[Any]:
    """Insert many rows of the same columns and return the ``returning`` columns of each
    (in no particular order): the keys the database gave them, in the same statement.

    PostgreSQL: one ``INSERT ... SELECT FROM unnest(...) RETURNING``; SQLite: SQLAlchemy's
    multi-row ``INSERT ... RETURNING``.
    """
    if not rows:
        return []
    if bind.dialect.name != "postgresql":
        stmt = sa.insert(table).returning(*(table.c[name] for name in returning))
        return list(bind.execute(stmt, list(rows)).all())
    columns = tuple(rows[0])
    sql, processors = _pg_bulk_sql(bind.dialect, table, columns, "returning")
    names = ", ".join(bind.dialect.identifier_preparer.quote(name) for name in returning)
    values = _row_values(rows, columns, processors)
    arrays = tuple(list(column) for column in zip(*values, strict=True))
    return list(bind.exec_driver_sql(f"{sql} RETURNING {names}", arrays).all())


def bulk_update(
    bind: Connection, table: sa.Table, keys: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Update many rows: each of ``rows`` names a row by its values of the ``keys`` columns
    and gives new values for its other columns (the same columns in every row; each row
    named once).

    SQLite runs one compiled ``UPDATE`` as an ``executemany``; PostgreSQL one ``UPDATE ...
    FROM unnest(...)`` with an array a column, instead of a statement a row.
    """
    if not rows:
        return
    columns = tuple(rows[0])
    sql, processors = _compiled_update(bind.dialect, table, tuple(keys), columns)
    values = [
        tuple(row[name] if p is None else p(row[name]) for name, p in processors) for row in rows
    ]
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(sql, tuple(list(column) for column in zip(*values, strict=True)))
    else:
        bind.exec_driver_sql(sql, values)


@functools.lru_cache(maxsize=64)
def _compiled_update(
    dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...], columns: tuple[str, ...]
) -> tuple[str, tuple[tuple[str, Callable[[Any], Any] | None], ...]]:
    """The ``UPDATE`` of :func:`bulk_update`, and the columns in the order its parameters
    take them, each with its bind processor."""
    prep = dialect.identifier_preparer
    quoted = {name: prep.quote(name) for name in columns}
    changed = [name for name in columns if name not in keys]
    processors = _bind_processors(dialect, table, columns)
    if dialect.name == "postgresql":
        arrays = ", ".join(
            f"%s::{table.c[name].type.compile(dialect=dialect)}[]" for name in columns
        )
        sets = ", ".join(f"{quoted[name]} = v.{quoted[name]}" for name in changed)
        match = " AND ".join(f"t.{quoted[name]} = v.{quoted[name]}" for name in keys)
        sql = (
            f"UPDATE {prep.format_table(table)} AS t SET {sets} FROM unnest({arrays}) "
            f"AS v({', '.join(quoted[name] for name in columns)}) WHERE {match}"
        )
        order = columns
    else:
        sets = ", ".join(f"{quoted[name]} = ?" for name in changed)
        match = " AND ".join(f"{quoted[name]} = ?" for name in keys)
        sql = f"UPDATE {prep.format_table(table)} SET {sets} WHERE {match}"
        order = (*changed, *keys)
    return sql, tuple((name, processors.get(name)) for name in order)


def in_values(bind: Connection, column: sa.ColumnElement[Any], values: Sequence[Any]) -> Any:
    """``column IN (values)``. On PostgreSQL ``column = ANY(:array)``: one parameter
    whatever the number of values, where a batch's ``IN`` of 200 placeholders took twice
    as long to render, send and plan."""
    if bind.dialect.name == "postgresql":
        array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == sa.any_(array)
    return column.in_(values)


class glob_match(FunctionElement[bool]):  # noqa: N801 (an SQL function, named like one)
    """``column`` matches the glob ``pattern`` as a whole, case-sensitively: ``*`` is any
    text, ``?`` one character, and ``\\`` makes the next character literal.

    SQLite runs it as ``GLOB`` and PostgreSQL as ``LIKE ... ESCAPE``; the pattern is
    translated for both when the expression is built (each dialect renders its own).
    """

    type = sa.Boolean()
    inherit_cache = True

    def __init__(self, column: sa.ColumnElement[Any], pattern: str) -> None:
        super().__init__(
            column, sa.literal(_to_sqlite_glob(pattern)), sa.literal(_to_like(pattern))
        )


@compiles(glob_match, "sqlite")
def _glob_sqlite(element: glob_match, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern, _ = element.clauses.clauses
    return f"({compiler.process(column, **kw)} GLOB {compiler.process(pattern, **kw)})"


@compiles(glob_match)
def _glob_like(element: glob_match, compiler: SQLCompiler, **kw: Any) -> str:
    column, _, pattern = element.clauses.clauses
    return f"({compiler.process(column, **kw)} LIKE {compiler.process(pattern, **kw)} ESCAPE '\\')"


def _glob_parts(pattern: str) -> list[tuple[str, bool]]:
    """The pattern as (character, is_wildcard) pairs, backslash escapes resolved."""
    parts, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append((next(chars, "\\"), False))
        else:
            parts.append((char, char in "*?"))
    return parts


def _to_sqlite_glob(pattern: str) -> str:
    # In a GLOB, "[x]" is the character x: the way to write a literal *, ? or [.
    return "".join(c if wild or c not in "*?[" else f"[{c}]" for c, wild in _glob_parts(pattern))


def _to_like(pattern: str) -> str:
    wildcards = {"*": "%", "?": "_"}
    return "".join(
        wildcards[c] if wild else ("\\" + c if c in "%_\\" else c)
        for c, wild in _glob_parts(pattern)
    )


def glob_prefix(pattern: str) -> str:
    """The literal text every match of a glob starts with (before its first wildcard)."""
    prefix = []
    for char, wild in _glob_parts(pattern):
        if wild:
            break
        prefix.append(char)
    return "".join(prefix)


class binary_text(FunctionElement[str]):  # noqa: N801 (an SQL expression, named like one)
    """Text compared and ordered by code point on every database: ``COLLATE "C"`` on
    PostgreSQL (whose database collation may be linguistic); SQLite compares bytes already."""

    type = sa.String()
    inherit_cache = True


@compiles(binary_text)
def _binary_text(element: binary_text, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses.clauses[0], **kw)


@compiles(binary_text, "postgresql")
def _binary_text_pg(element: binary_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses.clauses[0], **kw)} COLLATE "C")'


class unit_joined(FunctionElement[str]):  # noqa: N801 (an SQL aggregate, named like one)
    """The aggregate of text values joined by the unit separator (``\\x1f``): SQLite's
    ``group_concat``, PostgreSQL's ``string_agg``. The separator is written in the SQL as a
    function call, so the statement has no parameter to render at each execution."""

    type = sa.String()
    inherit_cache = True


@compiles(unit_joined)
def _unit_joined(element: unit_joined, compiler: SQLCompiler, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses.clauses[0], **kw)}, char(31))"


@compiles(unit_joined, "postgresql")
def _unit_joined_pg(element: unit_joined, compiler: SQLCompiler, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses.clauses[0], **kw)}, chr(31))"


def explain(bind: Connection, statement: sa.Executable, *, analyze: bool = False) -> str:
    """The database's own plan for ``statement``: ``EXPLAIN QUERY PLAN`` on SQLite,
    ``EXPLAIN`` on PostgreSQL (``EXPLAIN ANALYZE`` with ``analyze``, which runs the query
    and shows the rows each step really read), as one text."""
    sql = str(
        statement.compile(  # type: ignore[attr-defined]
            dialect=bind.dialect, compile_kwargs={"literal_binds": True}
        )
    )
    if is_sqlite(bind):
        return "\n".join(str(row[-1]) for row in bind.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    prefix = "EXPLAIN ANALYZE " if analyze else "EXPLAIN "
    return "\n".join(str(row[0]) for row in bind.exec_driver_sql(prefix + sql))
