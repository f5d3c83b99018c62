"""The ``where`` syntax tree (:mod:`flowtrail.model.where`) compiled to one SQL condition on
``runs``: nothing is filtered in Python.

Each comparison becomes a condition that is true or false for every run, never NULL, so that
``not`` negates it exactly: a run that lacks a field fails every comparison on it except
``!=`` and ``not in``, the negations of ``=`` and ``in``. Tags, parameters, metadata and
artifact values are ``EXISTS`` probes of ``run_tags (run_pk, tag)``, ``run_params (run_pk,
name)``, ``metadata_entries (run_pk, field_name, value_num)`` and ``artifacts (run_pk, name,
value_num)``. A number compares the numeric column (``true`` and ``false`` are 1 and 0, as in
Python), a string the text form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from flowtrail.model import (
    And,
    Comparison,
    FieldKind,
    Not,
    Operator,
    Or,
    WhereExpr,
    to_epoch_ms,
)
from flowtrail.model.where import Value
from flowtrail.store.sql.dialects import binary_text, glob_match, glob_prefix
from flowtrail.store.sql.schema import artifacts, metadata_entries, run_params, run_tags, runs

__all__ = [
    "compile_where",
    "duration_ms",
    "prefix_range",
    "prefix_successor",
    "raw_ms",
    "required_user",
    "split_tag_conditions",
    "value_source",
]

Condition = ColumnElement[bool]


def compile_where(expr: WhereExpr) -> Condition:
    """The SQL condition, on ``runs``, that holds exactly for the runs ``expr`` describes."""
    if isinstance(expr, And):
        return sa.and_(*(compile_where(i) for i in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(compile_where(i) for i in expr.items))
    if isinstance(expr, Not):
        return sa.not_(compile_where(expr.item))
    return _comparison(expr)


def split_tag_conditions(expr: WhereExpr | None) -> tuple[list[str], WhereExpr | None]:
    """The tags a ``where`` requires at its top level (``tag = 'x' and ...``), and the rest.

    The store lets such a tag drive a search through ``run_tags (tag, run_pk)``, as it does
    for :attr:`RunFilter.tags`, instead of probing it for every run it walks.
    """
    if expr is None:
        return [], None
    items = expr.items if isinstance(expr, And) else (expr,)
    tags = [str(i.value) for i in items if isinstance(i, Comparison) and _is_tag_eq(i)]
    rest = [i for i in items if not _is_tag_eq(i)]
    if not rest:
        return tags, None
    return tags, rest[0] if len(rest) == 1 else And(tuple(rest))


def required_user(expr: WhereExpr | None) -> str | None:
    """The user a ``where`` requires at its top level (``user = 'alice' and ...``), if any:
    the store weighs that user's runs against a required tag's to pick what drives a
    search."""
    items = () if expr is None else expr.items if isinstance(expr, And) else (expr,)
    for item in items:
        if (
            isinstance(item, Comparison)
            and item.field.kind is FieldKind.USER
            and item.op is Operator.EQ
            and isinstance(item.value, str)
        ):
            return item.value
    return None


def _is_tag_eq(item: WhereExpr) -> bool:
    return (
        isinstance(item, Comparison) and item.field.kind is FieldKind.TAG and item.op is Operator.EQ
    )


# -- one comparison ----------------------------------------------------------------------


def _comparison(c: Comparison) -> Condition:
    if c.op is Operator.NE:
        return sa.not_(_comparison(Comparison(c.field, Operator.EQ, c.value)))
    if c.op is Operator.NOT_IN:
        return sa.not_(_comparison(Comparison(c.field, Operator.IN, c.value)))
    kind = c.field.kind
    if kind is FieldKind.TAG:
        tag = run_tags.alias()
        return sa.exists().where(tag.c.run_pk == runs.c.pk, _text_test(tag.c.tag, c, index=True))
    if kind is FieldKind.STATUS:
        return _text_test(runs.c.status, c)
    if kind is FieldKind.USER:
        return sa.and_(runs.c.user_name.is_not(None), _text_test(runs.c.user_name, c))
    if kind is FieldKind.RUN_ID:
        if isinstance(c.value, int):  # an ordering against a number: automatic ids only
            number = runs.c.run_number
            return sa.and_(number.is_not(None), _ordered(number, c.op, c.value))
        return _text_test(runs.c.run_id, c)
    if kind is FieldKind.CREATED_AT:
        return _number_test(raw_ms(runs.c.created_at), c, _ms)
    if kind is FieldKind.FINISHED_AT:
        finished = raw_ms(runs.c.finished_at)
        return sa.and_(finished.is_not(None), _number_test(finished, c, _ms))
    if kind is FieldKind.DURATION:
        finished = raw_ms(runs.c.finished_at)
        return sa.and_(finished.is_not(None), _number_test(duration_ms(), c, _seconds_to_ms))
    table, name_column, extra = value_source(kind)
    assert c.field.name is not None
    return sa.exists().where(
        table.c.run_pk == runs.c.pk,
        table.c[name_column] == c.field.name,
        *extra(table),
        _value_test(table, c),
    )


def value_source(kind: FieldKind) -> tuple[Any, str, Callable[[Any], list[Condition]]]:
    """For ``params``, ``metadata`` or ``data``: a fresh alias of the table holding the values,
    its name column, and the conditions that select the searchable rows of it (metadata: the
    run's own entries and the user entries of its tasks)."""
    if kind is FieldKind.PARAMS:
        return run_params.alias(), "name", lambda t: []
    if kind is FieldKind.METADATA:
        # schema.SEARCHABLE_METADATA, word for word and with its constant written (not
        # bound), so that SQLite uses the partial indexes that hold only these entries
        return (
            metadata_entries.alias(),
            "field_name",
            lambda t: [sa.or_(t.c.task_pk.is_(None), t.c.type == sa.literal_column("'user'"))],
        )
    if kind is FieldKind.DATA:
        return artifacts.alias(), "name", lambda t: []
    raise AssertionError(f"{kind} has no value table")


def _value_test(table: Any, c: Comparison) -> Condition:
    values = c.value if isinstance(c.value, tuple) else (c.value,)
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    texts = [v for v in values if isinstance(v, str)]
    if c.op is Operator.IN:
        tests = []
        if numbers:
            tests.append(table.c.value_num.in_(numbers))
        if texts:
            tests.append(table.c.value_text.in_(texts))
        return sa.or_(*tests)
    if isinstance(c.value, str):
        return _text_test(table.c.value_text, c)
    return _ordered(table.c.value_num, c.op, numbers[0])


def _text_test(column: Any, c: Comparison, *, index: bool = False) -> Condition:
    """``column op value`` on text; ``index``: add the range a glob's literal prefix gives,
    so that an index on the column serves the glob."""
    if c.op is Operator.IN:
        assert isinstance(c.value, tuple)
        return column.in_([str(v) for v in c.value])  # type: ignore[no-any-return]
    assert isinstance(c.value, str)
    if c.op is Operator.GLOB:
        match = glob_match(column, c.value)
        prefix = glob_prefix(c.value)
        return sa.and_(prefix_range(column, prefix), match) if index and prefix else match
    if c.op is Operator.EQ:
        return column == c.value  # type: ignore[no-any-return]
    return _ordered(binary_text(column), c.op, c.value)


def _number_test(column: Any, c: Comparison, convert: Callable[[Value], float]) -> Condition:
    if c.op is Operator.IN:
        assert isinstance(c.value, tuple)
        return column.in_([convert(v) for v in c.value])  # type: ignore[no-any-return]
    assert not isinstance(c.value, tuple)
    return _ordered(column, c.op, convert(c.value))


def _ordered(column: Any, op: Operator, value: Any) -> Condition:
    tests: dict[Operator, Callable[[], Condition]] = {
        Operator.EQ: lambda: column == value,
        Operator.LT: lambda: column < value,
        Operator.LE: lambda: column <= value,
        Operator.GT: lambda: column > value,
        Operator.GE: lambda: column >= value,
    }
    return tests[op]()


def _ms(value: Value) -> float:
    assert isinstance(value, datetime)
    return to_epoch_ms(value)


def _seconds_to_ms(value: Value) -> float:
    assert isinstance(value, int | float)
    return value * 1000


def raw_ms(column: Any) -> Any:
    """A time column as its raw epoch milliseconds (no conversion to ``datetime``)."""
    return sa.type_coerce(column, sa.BigInteger())


def duration_ms() -> Any:
    """A run's duration in milliseconds (NULL while it has not finished)."""
    return raw_ms(runs.c.finished_at) - raw_ms(runs.c.created_at)


# -- prefix ranges -----------------------------------------------------------------------

_MAX_CHAR = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


def prefix_successor(prefix: str) -> str | None:
    """The smallest text greater than every text starting with ``prefix`` (by code point),
    or ``None`` when there is none (the prefix is all U+10FFFF)."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code in _SURROGATES:
            code = _SURROGATES.stop
        if code <= _MAX_CHAR:
            return "".join(chars) + chr(code)
    return None


def prefix_range(column: Any, prefix: str) -> Condition:
    """``column`` starts with ``prefix``, as a range an index serves (never ``LIKE``)."""
    upper = prefix_successor(prefix)
    lower = column >= prefix
    return lower if upper is None else sa.and_(lower, column < upper)
