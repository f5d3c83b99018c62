"""``open_store``: URL schemes, and failures that name the URL without its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtrail.errors import InvalidArgument, StoreUnavailable
from flowtrail.model import NewRun, Pathspec
from flowtrail.store import SCHEMES, SqlStore, open_store


def test_sqlite_file_and_memory(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with open_store(f"sqlite:///{path}") as store:
        assert isinstance(store, SqlStore)
        store.create_run(NewRun("F"))
        assert store.url == f"sqlite:///{path}"
    assert path.exists()
    with open_store(f"sqlite:///{path}") as again:  # the history is still there
        assert again.get_run(Pathspec("F", "1")).run_id == "1"
    with open_store("sqlite://") as memory:
        assert memory.find_flows().items == ()


def test_wal_mode_and_foreign_keys_on_a_file(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'h.db'}")
    assert isinstance(store, SqlStore)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    store.close()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "ftp://host:8080", "flowtrail.db", ""])
def test_unknown_scheme(url: str) -> None:
    with pytest.raises(InvalidArgument, match="expected a metadata store URL starting with"):
        open_store(url)


def test_unknown_scheme_never_echoes_a_password() -> None:
    with pytest.raises(InvalidArgument) as info:
        open_store("mysql://user:hunter2@db/x")
    assert "hunter2" not in str(info.value)


def test_schemes_are_a_literal_table() -> None:
    assert set(SCHEMES) == {
        "sqlite",
        "sqlite+pysqlite",
        "postgresql",
        "postgresql+psycopg",
        "http",
        "https",
    }


def test_a_service_url_opens_an_http_store_with_its_token() -> None:
    from flowtrail.store.http import HttpStore

    store = open_store("https://ft.example.com:8443/", token="s3cret")
    assert isinstance(store, HttpStore)
    assert store.url == "https://ft.example.com:8443"
    assert "s3cret" not in repr(store)
    store.close()


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'no' / 'such' / 'h.db'}")


def test_unreachable_postgresql_names_the_url_without_its_password() -> None:
    with pytest.raises(StoreUnavailable) as info:
        open_store("postgresql+psycopg://flow:s3cret-pw@127.0.0.1:1/history")
    message = str(info.value)
    assert "s3cret-pw" not in message
    assert "postgresql+psycopg://flow:***@127.0.0.1:1/history" in message
    assert "cannot reach" in message


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'h.db'}")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreUnavailable, match="is closed"):
        store.find_flows()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreUnavailable, match=r"cannot use the metadata store at .*notes\.db"):
        open_store(f"sqlite:///{path}")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:S3CRETP@127.0.0.1:abc/db",  # a port that is not a number
        "postgresql+psycopg://u@127.0.0.1:1/db?password=S3CRETQ",  # a password in the query
    ],
)
def test_no_message_shows_a_password(url: str) -> None:
    with pytest.raises((InvalidArgument, StoreUnavailable)) as info:
        open_store(url)
    assert "S3CRET" not in str(info.value)
    assert "S3CRET" not in repr(info.value.details)


def test_an_unknown_migrate_mode() -> None:
    with pytest.raises(InvalidArgument, match="migrate must be one of auto, upgrade, check"):
        open_store("sqlite://", migrate="autoo")
