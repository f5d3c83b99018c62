"""Which index drives a newest-first search that requires tags and a user: the smaller of
the rarest tag's runs and the user's runs, from the counts ``tag_counts`` keeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowtrail.model import NewRun, RunFilter
from flowtrail.store import SqlStore, open_store
from flowtrail.store.sql.lookup import find_flow_pk
from flowtrail.store.sql.reads import ConnectionReads
from flowtrail.store.sql.search import _driver


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    """Flow F: 6 runs tagged common, 2 of them duo and 1 rare; ada started 2, bob 4."""
    store = open_store(f"sqlite:///{tmp_path / 'flowtrail.db'}")
    assert isinstance(store, SqlStore)
    for i in range(6):
        user = "ada" if i < 2 else "bob"
        tags = {"common"} | ({"rare"} if i == 5 else set()) | ({"duo"} if i in (2, 3) else set())
        store.create_run(
            NewRun("F", user=user, tags=frozenset(tags), system_tags=frozenset({f"user:{user}"}))
        )
    yield store
    store.close()


def _driver_of(store: SqlStore, filter: RunFilter) -> str | None:
    with store.engine.connect() as conn:
        reads = ConnectionReads(conn)
        flow = None if filter.flow_name is None else find_flow_pk(reads, filter.flow_name)
        return _driver(reads, filter, flow)


@pytest.mark.parametrize("flow", ["F", None])
def test_the_smaller_set_drives(store: SqlStore, flow: str | None) -> None:
    def of(where: str) -> str | None:
        return _driver_of(store, RunFilter.of(flow, where=where))

    assert of("tag = 'common' and user = 'ada'") is None  # ada's 2 runs, not 6 tag rows
    assert of("tag = 'common' and user = 'bob'") is None  # bob's 4 runs, not 6
    assert of("tag = 'duo' and user = 'ada'") == "duo"  # 2 runs each way: the tag
    assert of("tag = 'rare' and user = 'ada'") == "rare"  # 1 tag row
    assert of("tag = 'common' and tag = 'rare'") == "rare"  # the rarest tag
    assert of("tag = 'common' and user = 'nobody'") is None  # no runs: nothing to walk
    assert of("tag = 'common'") == "common"  # no choice: no statement
    assert of("user = 'ada'") is None  # no tag
    assert _driver_of(store, RunFilter.of(flow, tags=["common"], user="ada")) is None


def test_the_choice_needs_one_statement_only_when_there_is_one(store: SqlStore) -> None:
    import sqlalchemy as sa

    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        _driver_of(store, RunFilter.of("F", where="tag = 'common'"))
        assert not any("tag_counts" in s for s in seen)
        _driver_of(store, RunFilter.of("F", where="tag = 'common' and user = 'ada'"))
        assert sum("tag_counts" in s for s in seen) == 1
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)


def test_a_page_that_is_not_full_builds_no_second_statement(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a one-parameter order reads on past its first statement (the runs lacking a
    # value); building the plan again to find that out cost more than the page's query.
    from flowtrail.model import PageRequest
    from flowtrail.store.sql import search

    built: list[RunFilter] = []
    plans = search.find_runs_stmts

    def counting(filter: RunFilter, *args: object, **kwargs: object) -> object:
        built.append(filter)
        return plans(filter, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(search, "find_runs_stmts", counting)
    newest = RunFilter.of("F", tags=["common"])
    assert len(store.find_runs(newest, PageRequest(50)).items) == 6
    by_alpha = RunFilter.of("F", order_by="params.alpha")
    assert len(store.find_runs(by_alpha, PageRequest(50)).items) == 6
    assert built.count(newest) == 1  # the first page's statement, memoized after
    assert built.count(by_alpha) == 2  # and the runs lacking a value
