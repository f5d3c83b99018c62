"""How the SQL store runs a read that is one statement.

On SQLite, SQLAlchemy's execution of a statement (a pooled connection, a transaction, the
execution events, a result object) costs about 80 us, where SQLite answers a point read in
4 us. A read that is one statement needs no transaction around it: it sees one committed
state of the database on its own. So the store runs such reads on driver connections of its
own, with the statement compiled by SQLAlchemy once:

* :class:`DriverReads`, for SQLite files: ``sqlite3`` connections made by the engine (its
  pragmas applied), in autocommit mode, one for each thread reading at the same moment;
* :class:`ConnectionReads`, over a SQLAlchemy connection: PostgreSQL (whose round trip is
  most of a read, and whose connections need the pool's liveness checks), in-memory SQLite
  (one connection that every user shares) and reads inside a write transaction.

Both return each row as a sequence of the values as the database holds them (epoch
milliseconds, JSON text on SQLite): the statements read through them select their columns
as stored (``type_coerce``), so that one decoder in :mod:`.codec` serves both.
"""

from __future__ import annotations

import abc
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

__all__ = ["ConnectionReads", "DriverReads", "Reads"]

#: A row as the database holds it, read by position.
Row = Sequence[Any]


class Reads(abc.ABC):
    """Runs read statements; each call sees one committed state of the database."""

    @abc.abstractmethod
    def all(self, stmt: Any, values: Mapping[str, Any] | None = None) -> list[Row]:
        """The rows of ``stmt``, with ``values`` for its bind parameters (the values built
        into the statement otherwise)."""

    @abc.abstractmethod
    def first(self, stmt: Any, values: Mapping[str, Any] | None = None) -> Row | None:
        """The first row of ``stmt``, or ``None``."""


class ConnectionReads(Reads):
    """Reads on a SQLAlchemy connection, inside the transaction its owner began."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def all(self, stmt: Any, values: Mapping[str, Any] | None = None) -> list[Row]:
        return list(self.conn.execute(stmt, values).all())

    def first(self, stmt: Any, values: Mapping[str, Any] | None = None) -> Row | None:
        return self.conn.execute(stmt, values).first()


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement compiled for the driver: its SQL text, and for each positional parameter
    its name, the value built into the statement (processed) and its bind processor."""

    sql: str
    names: tuple[str, ...]
    built_in: tuple[Any, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def arguments(self, values: Mapping[str, Any] | None) -> tuple[Any, ...]:
        if not values:
            return self.built_in
        args = list(self.built_in)
        for i, name in enumerate(self.names):
            if name in values:
                value = values[name]
                process = self.processors[i]
                args[i] = value if process is None or value is None else process(value)
        return tuple(args)


#: Compiled forms kept: the store's statements are built once (or memoized per query),
#: so this holds every statement a process repeats.
_CACHE_SIZE = 512
#: Idle driver connections kept; more readers at once open more, closed when they finish.
_MAX_IDLE = 8


class DriverReads(Reads):
    """Reads on ``sqlite3`` connections of the store's own, made by ``engine``.

    Args:
        engine: The store's engine on a SQLite file. Its ``connect`` events (busy timeout,
            WAL, foreign keys, autocommit) apply to the connections made here.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect
        self._idle: list[tuple[Any, sqlite3.Connection]] = []
        self._compiled: OrderedDict[int, tuple[Any, _Compiled]] = OrderedDict()
        self._templates: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False

    def all(self, stmt: Any, values: Mapping[str, Any] | None = None) -> list[Row]:
        compiled = self._compile(stmt)
        args = compiled.arguments(values)
        entry = self._take()
        try:
            return entry[1].execute(compiled.sql, args).fetchall()
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(compiled.sql, args, exc, sqlite3.Error) from exc
        finally:
            self._give(entry)

    def first(self, stmt: Any, values: Mapping[str, Any] | None = None) -> Row | None:
        compiled = self._compile(stmt)
        args = compiled.arguments(values)
        entry = self._take()
        try:
            cursor = entry[1].execute(compiled.sql, args)
            row: Row | None = cursor.fetchone()
            cursor.close()  # resets the statement: no read transaction stays open
            return row
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(compiled.sql, args, exc, sqlite3.Error) from exc
        finally:
            self._give(entry)

    def close(self) -> None:
        """Close the idle connections; those in use close when their read ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for fairy, _ in idle:
            fairy.close()

    def _take(self) -> tuple[Any, sqlite3.Connection]:
        if os.getpid() != self._pid:
            # A forked child must not use its parent's connections (SQLite forbids it):
            # they are dropped unclosed, and the child opens its own.
            self._idle, self._pid = [], os.getpid()
        try:
            return self._idle.pop()
        except IndexError:
            # The pool's connection, taken out of it: the pool's size is left to the
            # transactions, and this connection is the store's until it closes.
            fairy = self._engine.raw_connection()
            driver = fairy.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            fairy.detach()
            return fairy, driver

    def _give(self, entry: tuple[Any, sqlite3.Connection]) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < _MAX_IDLE:
                self._idle.append(entry)
                return
        entry[0].close()

    def _compile(self, stmt: Any) -> _Compiled:
        cached = self._compiled.get(id(stmt))
        if cached is not None and cached[0] is stmt:
            return cached[1]
        compiled = self._compile_new(stmt)
        with self._lock:
            # The statement is kept with its compiled form, so its id is not reused while
            # the entry lives.
            self._compiled[id(stmt)] = (stmt, compiled)
            if len(self._compiled) > _CACHE_SIZE:
                self._compiled.popitem(last=False)
        return compiled

    def _compile_new(self, stmt: Any) -> _Compiled:
        """A statement not seen before: compiled by SQLAlchemy, or taken from the form
        compiled for another of the same structure (the next page of a listing, the same
        search with other values) with this one's values, as SQLAlchemy's own execution
        does: compiling a search costs a millisecond or two, finding its cache key a
        tenth of that."""
        key = stmt._generate_cache_key()
        template = None if key is None else self._templates.get(key.key)
        if template is None:
            template = stmt.compile(dialect=self._dialect, cache_key=key)
            if key is not None:
                with self._lock:
                    self._templates[key.key] = template
                    if len(self._templates) > _CACHE_SIZE:
                        self._templates.popitem(last=False)
        return _prepare(template, self._dialect, None if key is None else key.bindparams)


def _prepare(compiled: Any, dialect: sa.Dialect, extracted: Sequence[Any] | None) -> _Compiled:
    """The driver's form of ``compiled`` (a positional paramstyle), with the values of
    ``extracted`` (the bind parameters of a statement of the same structure) or its own:
    expanding and literal-execute parameters rendered, and each parameter's bind processor
    found through the public type API and applied to the values built in."""
    required = {name: None for name, bind in compiled.binds.items() if bind.required}
    values = compiled.construct_params(required, extracted_parameters=extracted)
    state = compiled.construct_expanded_state(values)
    assert state.positiontup is not None, "the driver's paramstyle is positional"
    if required and state.parameter_expansion:
        raise AssertionError("a statement given values at each call cannot expand IN")
    origin = {
        expanded: name for name, names in state.parameter_expansion.items() for expanded in names
    }
    names = tuple(state.positiontup)
    processors: list[Callable[[Any], Any] | None] = []
    built_in: list[Any] = []
    for name in names:
        bind = compiled.binds[origin.get(name, name)]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        processors.append(process)
        value = state.parameters[name]
        built_in.append(value if process is None or value is None else process(value))
    return _Compiled(state.statement, names, tuple(built_in), tuple(processors))
