"""Reads of one statement on a SQLite file run on the store's own driver connections
(``flowtrail.store.sql.reads.DriverReads``): they see every committed write, leave no read
transaction open, serve many threads and a forked child, translate driver errors, and give
statements of one structure with other values their own values."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowtrail.errors import FlowtrailError, NotFound, StoreUnavailable
from flowtrail.model import NewRun, PageRequest, Pathspec, RunFilter
from flowtrail.store import SqlStore, open_store
from flowtrail.store.sql.reads import DriverReads
from flowtrail.store.sql.schema import runs


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "flowtrail.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqlStore]:
    store = open_store(f"sqlite:///{db}")
    assert isinstance(store, SqlStore)
    for i in range(5):
        store.create_run(NewRun("F", tags=frozenset({f"n:{i}"})))
    yield store
    store.close()


def test_reads_see_what_another_store_commits(store: SqlStore, db: Path) -> None:
    assert not store.run_exists(Pathspec("F", "6"))
    other = open_store(f"sqlite:///{db}")
    try:
        other.create_run(NewRun("F"))
        other.create_run(NewRun("F"))
    finally:
        other.close()
    assert store.run_exists(Pathspec("F", "6"))
    assert store.find_runs(RunFilter("F"), PageRequest(1)).items[0].run_id == "7"


def test_a_read_leaves_no_read_transaction_open(store: SqlStore, db: Path) -> None:
    # A reader holding a snapshot would keep a checkpoint from emptying the log.
    reads = DriverReads(store.engine)
    try:
        assert reads.first(sa.select(runs.c.run_id).order_by(runs.c.pk)) == ("1",)
        assert store.find_runs(RunFilter("F"), PageRequest(2)).items
        store.create_run(NewRun("F"))
        conn = sqlite3.connect(db)
        try:
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
        assert busy == 0
    finally:
        reads.close()


def test_many_threads_read_at_once(store: SqlStore) -> None:
    errors: list[BaseException] = []
    found: list[set[str]] = []

    def read() -> None:
        try:
            seen = set()
            for i in range(200):
                run = store.get_run(Pathspec("F", str(i % 5 + 1)))
                seen.add(run.run_id)
                assert store.run_exists(run.pathspec)
            found.append(seen)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert found == [{"1", "2", "3", "4", "5"}] * 8


def _exists_in_child(store: SqlStore, answer: multiprocessing.SimpleQueue[object]) -> None:
    try:
        answer.put((store.run_exists(Pathspec("F", "3")), store.get_run(Pathspec("F", "4")).run_id))
    except BaseException as exc:
        answer.put(repr(exc))


def test_a_forked_child_reads_on_connections_of_its_own(store: SqlStore) -> None:
    assert store.run_exists(Pathspec("F", "1"))  # the parent has a connection now
    context = multiprocessing.get_context("fork")
    answer: multiprocessing.SimpleQueue[object] = context.SimpleQueue()
    child = context.Process(target=_exists_in_child, args=(store, answer))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert answer.get() == (True, "4")
    assert store.get_run(Pathspec("F", "2")).run_id == "2"  # the parent's still work


def test_a_closed_store_refuses_reads(store: SqlStore) -> None:
    assert store.run_exists(Pathspec("F", "1"))
    store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.run_exists(Pathspec("F", "1"))


def test_driver_errors_are_flowtrail_errors(tmp_path: Path) -> None:
    file = tmp_path / "flowtrail.db"
    store = open_store(f"sqlite:///{file}")
    try:
        store.create_run(NewRun("F"))
        assert store.run_exists(Pathspec("F", "1"))
        conn = sqlite3.connect(file)
        conn.execute("ALTER TABLE runs RENAME COLUMN tag_list TO gone")
        conn.commit()
        conn.close()
        with pytest.raises(FlowtrailError, match=str(file)) as raised:
            store.get_run(Pathspec("F", "1"))
        assert not isinstance(raised.value, NotFound)
        assert isinstance(raised.value.__cause__, sa.exc.DBAPIError)
    finally:
        store.close()


def test_statements_of_one_structure_keep_their_own_values(store: SqlStore) -> None:
    reads = DriverReads(store.engine)
    try:
        keys = [
            reads.all(sa.select(runs.c.run_id).where(runs.c.pk > after).order_by(runs.c.pk))
            for after in (3, 1, 4)
        ]
        named = reads.all(
            sa.select(runs.c.run_id).where(runs.c.run_id.in_(["2", "5"])).order_by(runs.c.pk)
        )
        bound = sa.select(runs.c.run_id).where(runs.c.pk == sa.bindparam("pk"))
        given = [reads.first(bound, {"pk": pk}) for pk in (2, 4)]
    finally:
        reads.close()
    assert [[row[0] for row in rows] for rows in keys] == [
        ["4", "5"],
        ["2", "3", "4", "5"],
        ["5"],
    ]
    assert [row[0] for row in named] == ["2", "5"]
    assert [row[0] for row in given if row is not None] == ["2", "4"]


def test_a_page_after_a_cursor_reads_on_from_it(store: SqlStore) -> None:
    for _ in range(200):
        store.create_run(NewRun("F"))
    seen: list[str] = []
    page = store.find_runs(RunFilter("F"), PageRequest(7))
    while True:
        seen += [run.run_id for run in page.items]
        if page.next_cursor is None:
            break
        page = store.find_runs(RunFilter("F"), PageRequest(7, page.next_cursor))
    assert seen == [str(i) for i in range(205, 0, -1)]
