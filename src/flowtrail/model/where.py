"""The ``where`` and ``order_by`` languages of run search: a tokenizer, a recursive-descent
parser and the syntax tree that a store compiles to its own query language. Pure Python:
nothing here knows SQL.

The grammar (keywords and field kinds are case-insensitive)::

    where      := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | "(" or_expr ")" | comparison
    comparison := field op value
                | field ["not"] "in" "(" value ("," value)* ")"
    op         := "=" | "!=" | "<" | "<=" | ">" | ">=" | "~"
    value      := string | number | "true" | "false"
    field      := "tag" | "status" | "user" | "created_at" | "finished_at" | "duration"
                | "run_id" | ("params" | "metadata" | "data") "." name
    order_key  := ["-"] field                       (every field but tag)

``not`` binds tighter than ``and``, which binds tighter than ``or``. Strings are single- or
double-quoted; a quote inside is doubled (``'it''s'``). A name is letters, digits, ``_``,
``.`` and ``-``, or any quoted string (``params."learning rate"``). Every error is an
:class:`~flowtrail.errors.InvalidQuery` whose message starts with the 1-based column.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

from flowtrail.errors import InvalidQuery
from flowtrail.model.limits import MAX_INT64
from flowtrail.model.status import Status

__all__ = [
    "MAX_DEPTH",
    "MAX_WHERE_LENGTH",
    "And",
    "Comparison",
    "FieldKind",
    "Not",
    "Operator",
    "Or",
    "OrderKey",
    "SearchField",
    "Value",
    "WhereExpr",
    "parse_order_by",
    "parse_where",
    "where_fields",
]

#: The longest ``where`` text accepted, in characters.
MAX_WHERE_LENGTH = 10_000
#: How deeply parentheses and ``not`` may nest.
MAX_DEPTH = 50


class FieldKind(StrEnum):
    """What a search field refers to: a column of the run, or a named value of one."""

    TAG = "tag"
    STATUS = "status"
    USER = "user"
    CREATED_AT = "created_at"
    FINISHED_AT = "finished_at"
    DURATION = "duration"
    RUN_ID = "run_id"
    PARAMS = "params"
    METADATA = "metadata"
    DATA = "data"

    @property
    def named(self) -> bool:
        """True for ``params``, ``metadata`` and ``data``, which take ``.<name>``."""
        return self in _NAMED


_NAMED = frozenset({FieldKind.PARAMS, FieldKind.METADATA, FieldKind.DATA})


class Operator(StrEnum):
    """A comparison operator; ``~`` is a glob (``*`` any text, ``?`` one character)."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    GLOB = "~"
    IN = "in"
    NOT_IN = "not in"


_ORDERING = frozenset({Operator.LT, Operator.LE, Operator.GT, Operator.GE})
_MAX_SECONDS = MAX_INT64 // 1000
_ALL_OPS = frozenset(Operator)
_OPS: dict[FieldKind, frozenset[Operator]] = {
    FieldKind.TAG: frozenset(
        {Operator.EQ, Operator.NE, Operator.GLOB, Operator.IN, Operator.NOT_IN}
    ),
    FieldKind.STATUS: frozenset(
        {Operator.EQ, Operator.NE, Operator.GLOB, Operator.IN, Operator.NOT_IN}
    ),
    FieldKind.CREATED_AT: _ALL_OPS - {Operator.GLOB},
    FieldKind.FINISHED_AT: _ALL_OPS - {Operator.GLOB},
    FieldKind.DURATION: _ALL_OPS - {Operator.GLOB},
}

#: A value in a comparison: times are aware datetimes, ``true``/``false`` are bools.
Value: TypeAlias = str | int | float | bool | datetime


@dataclass(frozen=True, slots=True)
class SearchField:
    """A field of the search languages: ``status``, or ``params.alpha`` (kind and name)."""

    kind: FieldKind
    name: str | None = None

    def __str__(self) -> str:
        if self.name is None:
            return str(self.kind)
        bare = self.name and all(c in _NAME_CHARS for c in self.name)
        return f"{self.kind}.{self.name if bare else _quote(self.name, chr(34))}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value``; for ``in`` and ``not in`` the value is a tuple.

    ``!=`` and ``not in`` are the negations of ``=`` and ``in``: they hold for runs that
    lack the field. ``column`` is where the comparison starts in the text (for messages).
    """

    field: SearchField
    op: Operator
    value: Value | tuple[Value, ...]
    column: int = dataclasses.field(default=0, compare=False)

    def __str__(self) -> str:
        if isinstance(self.value, tuple):
            return f"{self.field} {self.op} ({', '.join(_render(v) for v in self.value)})"
        return f"{self.field} {self.op} {_render(self.value)}"


@dataclass(frozen=True, slots=True)
class And:
    """Every item holds."""

    items: tuple[WhereExpr, ...]

    def __str__(self) -> str:
        return " and ".join(f"({i})" if isinstance(i, Or) else str(i) for i in self.items)


@dataclass(frozen=True, slots=True)
class Or:
    """At least one item holds."""

    items: tuple[WhereExpr, ...]

    def __str__(self) -> str:
        return " or ".join(str(i) for i in self.items)


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not hold."""

    item: WhereExpr

    def __str__(self) -> str:
        inner = self.item
        return f"not ({inner})" if isinstance(inner, And | Or) else f"not {inner}"


#: The syntax tree of a ``where`` text; ``str()`` of one parses back to an equal tree.
WhereExpr: TypeAlias = Comparison | And | Or | Not


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One key of an ``order_by``: a field, ascending unless ``descending``."""

    field: SearchField
    descending: bool = False

    def __str__(self) -> str:
        return f"{'-' if self.descending else ''}{self.field}"


def parse_where(text: str) -> WhereExpr:
    """Parse a ``where`` text into its syntax tree, checking each value against its field.

    Raises:
        InvalidQuery: the text does not parse, or a value does not fit its field; the message
            starts with the column (``at column 17: expected a value after '>='``).
    """
    if not isinstance(text, str):
        raise InvalidQuery(f"where must be a string, got {type(text).__name__} {text!r:.60}")
    if len(text) > MAX_WHERE_LENGTH:
        raise InvalidQuery(
            f"where must be at most {MAX_WHERE_LENGTH} characters, got {len(text)}",
            details={"column": MAX_WHERE_LENGTH + 1},
        )
    parser = _Parser(text)
    expr = parser.or_expr(0)
    token = parser.peek()
    if token.kind != "end":
        raise parser.error(token, f"expected 'and', 'or' or the end, got {token.show()}")
    return expr


def parse_order_by(key: str) -> OrderKey:
    """Parse one ``order_by`` key: a field, with ``-`` in front for descending order.

    Raises:
        InvalidQuery: not a field that can be ordered by (``tag`` cannot).
    """
    if not isinstance(key, str):
        raise InvalidQuery(
            f"an order_by key must be a string, got {type(key).__name__} {key!r:.60}"
        )
    parser = _Parser(key, what=f"order_by {key!r:.80}")
    descending = False
    token = parser.peek()
    if token.kind == "number" and token.text.startswith("-"):
        raise parser.error(token, f"expected a field after '-', got {token.show()}")
    if token.kind == "op" and token.text == "-":
        parser.advance()
        descending = True
    target = parser.field()
    if target.kind is FieldKind.TAG:
        raise parser.error(
            token, "runs cannot be ordered by tag (a run has many); order by another field"
        )
    rest = parser.peek()
    if rest.kind != "end":
        raise parser.error(rest, f"expected the end after {target}, got {rest.show()}")
    return OrderKey(target, descending)


def where_fields(expr: WhereExpr) -> frozenset[FieldKind]:
    """The kinds of field a ``where`` tree compares."""
    if isinstance(expr, Comparison):
        return frozenset({expr.field.kind})
    if isinstance(expr, Not):
        return where_fields(expr.item)
    return frozenset().union(*(where_fields(i) for i in expr.items))


# -- tokens ------------------------------------------------------------------------------

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_WORD_CHARS = _WORD_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_OPERATORS = ("!=", "<=", ">=", "==", "=", "<", ">", "~")
_FIELD_LIST = (
    "tag, status, user, created_at, finished_at, duration, run_id, params.<name>, "
    "metadata.<name> or data.<name>"
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # word, field, string, number, op, punct, end
    text: str  # as written
    column: int  # 1-based
    value: object = None

    def show(self) -> str:
        if self.kind == "end":
            return "the end"
        return self.text if self.kind == "string" else repr(self.text)


class _Parser:
    """Tokenizes lazily and parses by recursive descent; ``what`` prefixes every message."""

    def __init__(self, text: str, what: str = "") -> None:
        self.text = text
        self.what = what
        self.pos = 0
        self._next: _Token | None = None

    # -- errors and tokens

    def error(self, token: _Token | int, message: str) -> InvalidQuery:
        column = token if isinstance(token, int) else token.column
        prefix = f"{self.what}: " if self.what else ""
        return InvalidQuery(
            f"{prefix}at column {column}: {message}",
            details={"column": column, "text": self.text[:200]},
        )

    def peek(self) -> _Token:
        if self._next is None:
            self._next = self._scan()
        return self._next

    def advance(self) -> _Token:
        token = self.peek()
        self._next = None
        return token

    def _scan(self) -> _Token:
        text, n = self.text, len(self.text)
        while self.pos < n and text[self.pos].isspace():
            self.pos += 1
        start = self.pos
        if start >= n:
            return _Token("end", "", n + 1)
        char = text[start]
        if char in "(),":
            self.pos += 1
            return _Token("punct", char, start + 1)
        if char in "'\"":
            value = self._string()
            return _Token("string", text[start : self.pos], start + 1, value)
        if char in _DIGITS or (
            char in "-."
            and start + 1 < n
            and (text[start + 1] in _DIGITS or text[start + 1] == ".")
        ):
            return self._number()
        if char in _WORD_START:
            return self._word()
        for op in _OPERATORS:
            if text.startswith(op, start):
                self.pos += len(op)
                return _Token("op", op, start + 1)
        if char == "-":
            self.pos += 1
            return _Token("op", "-", start + 1)
        raise self.error(start + 1, f"unexpected character {char!r}")

    def _string(self) -> str:
        text, quote, start = self.text, self.text[self.pos], self.pos
        self.pos += 1
        parts = []
        while True:
            end = text.find(quote, self.pos)
            if end < 0:
                raise self.error(start + 1, f"unterminated string: expected a closing {quote}")
            parts.append(text[self.pos : end])
            if text.startswith(quote * 2, end):
                parts.append(quote)
                self.pos = end + 2
                continue
            self.pos = end + 1
            return "".join(parts)

    def _number(self) -> _Token:
        text, start = self.text, self.pos
        pos = start + (text[start] == "-")
        while pos < len(text) and (
            text[pos] in _DIGITS
            or text[pos] in ".eE"
            or (text[pos] in "+-" and text[pos - 1] in "eE")
        ):
            pos += 1
        while pos < len(text) and text[pos] in _WORD_CHARS:
            pos += 1  # swallow trailing letters, so that '12abc' is one bad number
        self.pos = pos
        raw = text[start:pos]
        value: int | float
        try:
            value = int(raw) if raw.lstrip("-").isdigit() else float(raw)
        except ValueError:
            raise self.error(start + 1, f"expected a number, got {raw!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(start + 1, f"the number {raw} is out of range")
        return _Token("number", raw, start + 1, value)

    def _word(self) -> _Token:
        text, start = self.text, self.pos
        pos = start
        while pos < len(text) and text[pos] in _WORD_CHARS:
            pos += 1
        word = text[start:pos]
        self.pos = pos
        kind = word.lower()
        if kind in _NAMED and pos < len(text) and text[pos] == ".":
            self.pos += 1
            if self.pos < len(text) and text[self.pos] in "'\"":
                name = self._string()
            else:
                end = self.pos
                while end < len(text) and text[end] in _NAME_CHARS:
                    end += 1
                name = text[self.pos : end]
                self.pos = end
            if not name:
                raise self.error(self.pos + 1, f"expected a name after '{word}.'")
            return _Token(
                "field", text[start : self.pos], start + 1, SearchField(FieldKind(kind), name)
            )
        return _Token("word", word, start + 1, kind)

    # -- grammar

    def or_expr(self, depth: int) -> WhereExpr:
        items = [self.and_expr(depth)]
        while self._keyword("or"):
            items.append(self.and_expr(depth))
        return _flat(Or, items)

    def and_expr(self, depth: int) -> WhereExpr:
        items = [self.unary(depth)]
        while self._keyword("and"):
            items.append(self.unary(depth))
        return _flat(And, items)

    def unary(self, depth: int) -> WhereExpr:
        token = self.peek()
        if depth >= MAX_DEPTH:
            raise self.error(token, f"parentheses and 'not' nest deeper than {MAX_DEPTH} levels")
        if token.kind == "word" and token.value == "not":
            self.advance()
            return Not(self.unary(depth + 1))
        if token.kind == "punct" and token.text == "(":
            self.advance()
            inner = self.or_expr(depth + 1)
            close = self.advance()
            if close.kind != "punct" or close.text != ")":
                raise self.error(
                    close,
                    f"expected ')' to close the '(' at column {token.column}, got {close.show()}",
                )
            return inner
        return self.comparison()

    def _keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.value == word:
            self.advance()
            after = self.peek()
            if after.kind == "end" or (after.kind == "punct" and after.text in "),"):
                raise self.error(
                    after, f"expected a condition after {token.text!r}, got {after.show()}"
                )
            return True
        return False

    def field(self) -> SearchField:
        token = self.advance()
        if token.kind == "field":
            assert isinstance(token.value, SearchField)
            return token.value
        if token.kind == "word":
            kind = str(token.value)
            if kind in _NAMED:
                raise self.error(
                    token, f"expected {kind}.<name> (such as {kind}.alpha), got {token.show()}"
                )
            if kind in FieldKind.__members__.values():
                return SearchField(FieldKind(kind))
            raise self.error(token, f"unknown field {token.text!r}; expected {_FIELD_LIST}")
        raise self.error(token, f"expected a field ({_FIELD_LIST}), got {token.show()}")

    def comparison(self) -> Comparison:
        start = self.peek()
        if start.kind == "end" or start.kind == "punct":
            raise self.error(
                start, f"expected a condition such as status = 'failed', got {start.show()}"
            )
        target = self.field()
        token = self.advance()
        if token.kind == "op" and token.text == "==":
            raise self.error(token, "'==' is not an operator; use '='")
        if token.kind == "op" and token.text != "-":
            op = Operator(token.text)
            value = self._value(target, op, token)
            return Comparison(target, op, value, start.column)
        negated = token.kind == "word" and token.value == "not"
        if negated:
            token = self.advance()
        if token.kind == "word" and token.value == "in":
            op = Operator.NOT_IN if negated else Operator.IN
            self._check_op(target, op, token)
            return Comparison(target, op, self._list(target, op, token), start.column)
        raise self.error(
            token,
            f"expected an operator (=, !=, <, <=, >, >=, ~, in, not in) after {target}, "
            f"got {token.show()}",
        )

    def _list(self, target: SearchField, op: Operator, at: _Token) -> tuple[Value, ...]:
        opening = self.advance()
        if opening.kind != "punct" or opening.text != "(":
            raise self.error(opening, f"expected '(' after {at.text!r}, got {opening.show()}")
        values = [self._value(target, op, opening)]
        while True:
            token = self.advance()
            if token.kind == "punct" and token.text == ")":
                return tuple(values)
            if token.kind != "punct" or token.text != ",":
                raise self.error(
                    token,
                    f"expected ',' or ')' in the list opened at column {opening.column}, "
                    f"got {token.show()}",
                )
            values.append(self._value(target, op, token))

    def _value(self, target: SearchField, op: Operator, after: _Token) -> Value:
        self._check_op(target, op, after)
        token = self.advance()
        if token.kind in ("string", "number"):
            raw = token.value
        elif token.kind == "word" and token.value in ("true", "false"):
            raw = token.value == "true"
        else:
            hint = f"; quote strings: '{token.text}'" if token.kind == "word" else ""
            raise self.error(
                token, f"expected a value after {after.text!r}, got {token.show()}{hint}"
            )
        assert isinstance(raw, str | int | float)
        return self._typed(target, op, raw, token)

    def _check_op(self, target: SearchField, op: Operator, at: _Token) -> None:
        allowed = _OPS.get(target.kind, _ALL_OPS)
        if op not in allowed:
            names = ", ".join(o.value for o in Operator if o in allowed)
            raise self.error(at, f"{op.value!r} does not apply to {target}; it takes {names}")

    def _typed(self, target: SearchField, op: Operator, raw: Value, token: _Token) -> Value:
        kind = target.kind
        shown = _describe(raw)
        if op is Operator.GLOB and not isinstance(raw, str):
            raise self.error(token, f"'~' matches a string pattern such as 'env:*', got {shown}")
        if kind in (FieldKind.TAG, FieldKind.STATUS, FieldKind.USER):
            if not isinstance(raw, str):
                raise self.error(token, f"{kind} compares with a string, got {shown}")
            if (
                kind is FieldKind.STATUS
                and op is not Operator.GLOB
                and raw not in Status.__members__.values()
            ):
                choices = ", ".join(s.value for s in Status)
                raise self.error(token, f"expected a status ({choices}), got {raw!r}")
            return raw
        if kind in (FieldKind.CREATED_AT, FieldKind.FINISHED_AT):
            if not isinstance(raw, str):
                raise self.error(
                    token,
                    f"{kind} compares with an ISO time such as '2026-01-31T12:00:00Z', got {shown}",
                )
            assert isinstance(raw, str)
            return self._time(kind, raw, token)
        if kind is FieldKind.DURATION:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise self.error(token, f"duration compares with a number of seconds, got {shown}")
            if isinstance(raw, int) and abs(raw) > _MAX_SECONDS:
                # Compared in milliseconds, in a 64-bit column.
                raise self.error(
                    token, f"duration compares with at most {_MAX_SECONDS} seconds, got {shown}"
                )
            return raw
        if kind is FieldKind.RUN_ID:
            if isinstance(raw, bool | float):
                raise self.error(token, f"run_id compares with a string or an integer, got {shown}")
            if isinstance(raw, int) and op not in _ORDERING:
                return str(raw)  # run ids are text: run_id = 12 is run_id = '12'
            if isinstance(raw, int) and abs(raw) > MAX_INT64:
                raise self.error(
                    token, f"run_id orders by run numbers of at most {MAX_INT64}, got {shown}"
                )
            return raw
        return raw  # params, metadata, data: strings, numbers and booleans

    def _time(self, kind: FieldKind, raw: str, token: _Token) -> datetime:
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise self.error(
                token,
                f"expected an ISO time such as '2026-01-31T12:00:00Z' for {kind}, got {raw!r}",
            ) from None
        if value.tzinfo is None or value.utcoffset() is None:
            utc = f"{raw}T00:00:00Z" if len(raw) == 10 else f"{raw}Z"
            raise self.error(
                token,
                f"{raw!r} has no timezone, and flowtrail never guesses one; "
                f"write {utc!r} for UTC, or add an offset such as '+02:00'",
            )
        return value


def _flat(cls: type[And] | type[Or], items: list[WhereExpr]) -> WhereExpr:
    if len(items) == 1:
        return items[0]
    flat: list[WhereExpr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


def _quote(text: str, quote: str = "'") -> str:
    return quote + text.replace(quote, quote * 2) + quote


def _render(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _quote(value.isoformat())
    if isinstance(value, str):
        return _quote(value)
    return repr(value)


def _describe(value: Value) -> str:
    if isinstance(value, bool):
        return f"the boolean {_render(value)}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"the string {_render(value)}"
