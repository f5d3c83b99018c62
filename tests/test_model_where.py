"""The ``where`` and ``order_by`` parser: the tree it builds, precedence, values checked
against their fields, and errors that give the column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowtrail.errors import InvalidArgument, InvalidQuery
from flowtrail.model import (
    And,
    Comparison,
    FieldKind,
    Not,
    Operator,
    Or,
    OrderKey,
    RunFilter,
    SearchField,
    parse_order_by,
    parse_where,
)
from flowtrail.model.where import MAX_DEPTH, MAX_WHERE_LENGTH, where_fields

TAG = SearchField(FieldKind.TAG)
STATUS = SearchField(FieldKind.STATUS)


def cmp(field: SearchField, op: str, value: object) -> Comparison:
    return Comparison(field, Operator(op), value)  # type: ignore[arg-type]


def test_the_example_of_the_brief() -> None:
    tree = parse_where(
        "tag = 'prod' and (status = 'failed' or params.alpha > 0.1) and data.accuracy >= 0.9"
    )
    assert tree == And(
        (
            cmp(TAG, "=", "prod"),
            Or(
                (
                    cmp(STATUS, "=", "failed"),
                    cmp(SearchField(FieldKind.PARAMS, "alpha"), ">", 0.1),
                )
            ),
            cmp(SearchField(FieldKind.DATA, "accuracy"), ">=", 0.9),
        )
    )
    assert where_fields(tree) == {FieldKind.TAG, FieldKind.STATUS, FieldKind.PARAMS, FieldKind.DATA}


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">=", "~"])
def test_every_comparison_operator(op: str) -> None:
    value = "x*" if op == "~" else 3
    text = f"params.n {op} {value!r}" if op == "~" else f"params.n {op} {value}"
    assert parse_where(text) == cmp(SearchField(FieldKind.PARAMS, "n"), op, value)


def test_in_and_not_in() -> None:
    assert parse_where("tag in ('a', \"b\")") == cmp(TAG, "in", ("a", "b"))
    assert parse_where("tag not in ('a')") == cmp(TAG, "not in", ("a",))
    assert parse_where("not tag in ('a')") == Not(cmp(TAG, "in", ("a",)))
    assert parse_where("data.x in (1, 'one', true)") == cmp(
        SearchField(FieldKind.DATA, "x"), "in", (1, "one", True)
    )


def test_precedence_not_then_and_then_or() -> None:
    a, b, c = (cmp(TAG, "=", t) for t in "abc")
    assert parse_where("tag='a' or tag='b' and tag='c'") == Or((a, And((b, c))))
    assert parse_where("tag='a' and tag='b' or tag='c'") == Or((And((a, b)), c))
    assert parse_where("not tag='a' and tag='b'") == And((Not(a), b))
    assert parse_where("not (tag='a' and tag='b')") == Not(And((a, b)))
    assert parse_where("(tag='a' or tag='b') and tag='c'") == And((Or((a, b)), c))
    assert parse_where("tag='a' and tag='b' and tag='c'") == And((a, b, c))  # flat
    assert parse_where("not not tag='a'") == Not(Not(a))
    assert parse_where("NOT tag='a' AnD tag='b' OR tag='c'") == parse_where(
        "((not tag='a') and tag='b') or tag='c'"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'it''s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ("'a\\*'", "a\\*"),  # backslashes are kept for the glob
        ("''", ""),
        ("-12", -12),
        ("1.5", 1.5),
        ("-.5", -0.5),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        ("true", True),
        ("FALSE", False),
    ],
)
def test_values(text: str, value: object) -> None:
    parsed = parse_where(f"params.x = {text}")
    assert isinstance(parsed, Comparison)
    assert parsed.value == value
    assert type(parsed.value) is type(value)


def test_fields() -> None:
    for kind in FieldKind:
        if kind.named:
            field = SearchField(kind, "a.b-c_1")
            assert parse_where(f"{kind}.a.b-c_1 = 1").field == field  # type: ignore[union-attr]
    quoted = parse_where("metadata.'learning rate' = 0.1")
    assert quoted == cmp(SearchField(FieldKind.METADATA, "learning rate"), "=", 0.1)
    assert str(quoted) == 'metadata."learning rate" = 0.1'
    assert parse_where("Status = 'failed'") == cmp(STATUS, "=", "failed")


def test_times_need_a_timezone() -> None:
    parsed = parse_where("created_at >= '2026-01-31T12:00:00+02:00'")
    assert isinstance(parsed, Comparison)
    assert parsed.value == datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert parsed.value.utcoffset() == timedelta(hours=2)  # type: ignore[union-attr]
    z = parse_where("finished_at < '2026-01-31T00:00Z'")
    assert z.value == datetime(2026, 1, 31, tzinfo=UTC)  # type: ignore[union-attr]
    with pytest.raises(
        InvalidQuery,
        match=r"at column 15: '2026-01-31' has no timezone.*"
        r"'2026-01-31T00:00:00Z'",
    ):
        parse_where("created_at >= '2026-01-31'")
    with pytest.raises(InvalidQuery, match="at column 15: expected an ISO time"):
        parse_where("created_at >= 'yesterday'")


def test_run_ids_compare_as_text_or_as_automatic_numbers() -> None:
    field = SearchField(FieldKind.RUN_ID)
    assert parse_where("run_id = 12") == cmp(field, "=", "12")
    assert parse_where("run_id in (1, 'b')") == cmp(field, "in", ("1", "b"))
    assert parse_where("run_id > 12") == cmp(field, ">", 12)
    assert parse_where("run_id > '12'") == cmp(field, ">", "12")


def test_text_round_trips() -> None:
    texts = [
        "tag = 'prod' and (status = 'failed' or params.alpha > 0.1) and data.accuracy >= 0.9",
        "not (user ~ 'a*' or run_id > 3) and metadata.\"a b\" != 'it''s'",
        "created_at in ('2026-01-01T00:00:00+00:00') or duration <= -1.5e-07",
        "not not tag not in ('x', 'y') and data.ok = true",
    ]
    for text in texts:
        tree = parse_where(text)
        assert parse_where(str(tree)) == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tag = 'prod' and data.accuracy >= ", "at column 35: expected a value after '>='"),
        ("", "at column 1: expected a condition"),
        ("   ", "at column 4: expected a condition"),
        ("tag = 'a' and", "at column 14: expected a condition after 'and', got the end"),
        ("tag = 'a' or )", "at column 14: expected a condition after 'or', got ')'"),
        ("(tag = 'a'", "at column 11: expected ')' to close the '(' at column 1, got the end"),
        ("tag = 'a')", "at column 10: expected 'and', 'or' or the end, got ')'"),
        ("tag = 'a' tag = 'b'", "at column 11: expected 'and', 'or' or the end, got 'tag'"),
        ("status = failed", "at column 10: expected a value after '=', got 'failed'; quote"),
        ("status = 'done'", "at column 10: expected a status"),
        ("status == 'failed'", "at column 8: '==' is not an operator; use '='"),
        ("status is 'failed'", "at column 8: expected an operator"),
        ("tag > 'a'", "at column 5: '>' does not apply to tag"),
        ("duration ~ '1*'", "at column 10: '~' does not apply to duration"),
        ("tag = 1", "at column 7: tag compares with a string, got the number 1"),
        ("user = true", "at column 8: user compares with a string, got the boolean true"),
        ("duration > '1'", "at column 12: duration compares with a number of seconds"),
        ("params.x ~ 3", "at column 12: '~' matches a string pattern"),
        ("run_id = 1.5", "at column 10: run_id compares with a string or an integer"),
        ("foo = 1", "at column 1: unknown field 'foo'"),
        ("params = 1", "at column 1: expected params.<name>"),
        ("params. = 1", "at column 8: expected a name after 'params.'"),
        ("tag in 'a'", "at column 8: expected '(' after 'in', got 'a'"),
        ("tag in ('a' 'b')", "at column 13: expected ',' or ')' in the list opened at column 8"),
        ("tag in ()", "at column 9: expected a value after '(', got ')'"),
        ("tag not = 'a'", "at column 9: expected an operator"),
        ("params.x = 12abc", "at column 12: expected a number, got '12abc'"),
        ("params.x = 1e999", "at column 12: the number 1e999 is out of range"),
        ("user = 'abc", "at column 8: unterminated string: expected a closing '"),
        ("user = 'a' # x", "at column 12: unexpected character '#'"),
        ("= 1", "at column 1: expected a field"),
        (") or tag = 'a'", "at column 1: expected a condition"),
    ],
)
def test_errors_give_the_column(text: str, message: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_where(text)
    assert str(info.value).startswith(message), str(info.value)
    assert info.value.details["column"] == int(message.split()[2].rstrip(":"))
    assert isinstance(info.value, InvalidArgument)


def test_nesting_and_length_are_bounded() -> None:
    deep = "(" * (MAX_DEPTH + 1) + "tag='a'" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(InvalidQuery, match=f"at column {MAX_DEPTH + 1}: .* deeper than"):
        parse_where(deep)
    ok = "(" * (MAX_DEPTH - 1) + "tag='a'" + ")" * (MAX_DEPTH - 1)
    assert parse_where(ok) == cmp(TAG, "=", "a")
    with pytest.raises(InvalidQuery, match="deeper than"):
        parse_where("not " * (MAX_DEPTH + 1) + "tag='a'")
    with pytest.raises(InvalidQuery, match=f"at most {MAX_WHERE_LENGTH} characters"):
        parse_where("tag='a' or " * 1000 + "tag='a'")
    with pytest.raises(InvalidQuery, match="where must be a string"):
        parse_where(3)  # type: ignore[arg-type]


def test_order_keys() -> None:
    assert parse_order_by("created_at") == OrderKey(SearchField(FieldKind.CREATED_AT))
    assert parse_order_by("-params.alpha") == OrderKey(
        SearchField(FieldKind.PARAMS, "alpha"), descending=True
    )
    assert str(parse_order_by(" - metadata.'a b' ")) == '-metadata."a b"'
    for bad, message in [
        ("tag", "order_by 'tag': at column 1: runs cannot be ordered by tag"),
        ("-", "order_by '-': at column 2: expected a field"),
        ("-1", "order_by '-1': at column 1: expected a field after '-'"),
        ("--user", "order_by '--user': at column 2: expected a field"),
        ("user x", "order_by 'user x': at column 6: expected the end after user"),
        ("nope", "order_by 'nope': at column 1: unknown field 'nope'"),
    ]:
        with pytest.raises(InvalidQuery) as info:
            parse_order_by(bad)
        assert str(info.value).startswith(message), str(info.value)


def test_run_filter_parses_when_built() -> None:
    f = RunFilter.of("F", where="tag = 'prod'", order_by="-params.alpha")
    assert f.where_expr == cmp(TAG, "=", "prod")
    assert f.order_by == ("-params.alpha",)
    assert f.order_keys == (OrderKey(SearchField(FieldKind.PARAMS, "alpha"), True),)
    assert RunFilter(order_by=["user", " -created_at"]).order_by == ("user", "-created_at")  # type: ignore[arg-type]
    assert RunFilter(order_by="-user").order_by == ("-user",)  # type: ignore[arg-type]
    assert RunFilter(where=" ").where is None
    assert RunFilter(where=" ").where_expr is None
    assert RunFilter(where="tag='a'") == RunFilter(where="tag='a'")
    assert hash(RunFilter(where="tag='a'")) == hash(RunFilter(where="tag='a'"))
    assert RunFilter().order_keys == ()
    with pytest.raises(InvalidQuery, match="at column 5"):
        RunFilter(where="tag ! 'a'")
    with pytest.raises(InvalidQuery, match="names user twice"):
        RunFilter(order_by=("user", "-user"))
    with pytest.raises(InvalidQuery, match="at most 4 keys"):
        RunFilter(order_by=("user", "status", "run_id", "duration", "created_at"))
    with pytest.raises(InvalidQuery, match="order_by must be a sequence"):
        RunFilter(order_by=3)  # type: ignore[arg-type]


def test_a_repeated_where_is_parsed_once_and_a_bad_one_is_refused_every_time() -> None:
    text = "tag = 'prod' and (status = 'failed' or params.alpha > 0.1)"
    assert RunFilter(where=text).where_expr is RunFilter("F", where=text).where_expr
    for _ in range(2):
        with pytest.raises(InvalidQuery, match="at column"):
            RunFilter(where="params.alpha >= ")
    with pytest.raises(InvalidQuery):
        RunFilter(where=42)  # type: ignore[arg-type]
