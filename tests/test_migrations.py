"""The Alembic history creates exactly the schema in ``schema.py``, on SQLite and
PostgreSQL; opening an older database migrates it or says how to; a newer one is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from flowtrail.errors import SchemaMismatch
from flowtrail.model import NewRun, PageRequest, Pathspec, RunFilter, TagCount, utc_now
from flowtrail.store import MigrateMode, open_store
from flowtrail.store.sql import create_engine, current_revision, head_revision, upgrade
from flowtrail.store.sql.migrate import downgrade
from flowtrail.store.sql.schema import metadata


def _differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_history_matches_schema_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert upgrade(engine) == (None, head_revision())
    assert _differences(engine) == []
    engine.dispose()


@pytest.mark.postgres
def test_history_matches_schema_on_postgresql(fresh_postgres: str) -> None:
    engine = create_engine(fresh_postgres)
    upgrade(engine)
    assert _differences(engine) == []
    assert upgrade(engine) == (head_revision(), head_revision())  # idempotent
    downgrade(engine, "base")
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_an_older_sqlite_file_is_migrated_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine)
    downgrade(engine, "base")  # a file left at the revision before the current one
    with engine.connect() as conn:
        assert current_revision(conn) is None
    engine.dispose()
    with open_store(url) as store:
        assert store.create_run(NewRun("F")).run_id == "1"
    engine = create_engine(url)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    engine.dispose()


def test_check_mode_refuses_an_outdated_file_with_the_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with pytest.raises(SchemaMismatch, match=r"flowtrail db upgrade --db 'sqlite:///.*old\.db'"):
        open_store(url, migrate=MigrateMode.CHECK)


def test_a_database_from_a_newer_flowtrail_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    open_store(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    engine.dispose()
    with pytest.raises(SchemaMismatch, match=r"f00dfeed.*written by a newer flowtrail"):
        open_store(url)


@pytest.mark.postgres
def test_postgresql_migrates_when_empty_and_refuses_when_behind(fresh_postgres: str) -> None:
    open_store(fresh_postgres).close()  # empty: created
    engine = create_engine(fresh_postgres)
    downgrade(engine, "base")
    with engine.begin() as conn:  # a non-empty database behind the code
        conn.execute(sa.text("CREATE TABLE team_notes (id int)"))
    engine.dispose()
    masked = make_url(fresh_postgres).render_as_string(hide_password=True)
    with pytest.raises(SchemaMismatch, match="flowtrail db upgrade --db") as info:
        open_store(fresh_postgres)
    assert masked in str(info.value)
    with open_store(fresh_postgres, migrate="upgrade") as store:
        assert store.create_run(NewRun("F")).run_id == "1"


def test_the_fast_head_check_knows_the_newest_revision() -> None:
    from flowtrail.store.sql.migrate import HEAD_REVISION, head_revision

    assert head_revision() == HEAD_REVISION


def _tagged_history_at_0003(engine: sa.Engine) -> None:
    """A history written before migration 0004: three flows' runs with user and system
    tags, inserted as the store wrote them then (no tag counts)."""
    from flowtrail.store.sql.schema import flows, run_tags, runs

    upgrade(engine, "0003")
    now = utc_now()
    users = ("ada", "bob", "cy")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(flows),
            [
                {"pk": pk, "name": name, "created_at": now, "metadata": {}, "last_run_number": 9}
                for pk, name in ((1, "A"), (2, "B"), (3, "Empty"))
            ],
        )
        run_rows, tag_rows = [], []
        for pk in range(1, 31):
            flow = 1 if pk % 3 else 2
            run_rows.append(
                {
                    "pk": pk,
                    "flow_pk": flow,
                    "run_id": str(pk),
                    "run_number": pk,
                    "status": "succeeded",
                    "created_at": now,
                    "heartbeat_at": now,
                    "heartbeat_timeout_ms": 60_000,
                    "user_name": users[pk % 3],
                    "parameters": {},
                    "trigger": [],
                    "flow_metadata": {},
                }
            )
            tags = {f"user:{users[pk % 3]}": True, f"team:{pk % 4}": False}
            tags |= {"runtime:local": True} if pk % 2 else {"prod": False}
            tag_rows += [
                {"run_pk": pk, "tag": tag, "is_system": system, "flow_pk": flow}
                for tag, system in tags.items()
            ]
        conn.execute(sa.insert(runs), run_rows)
        conn.execute(sa.insert(run_tags), tag_rows)


def _check_counts_after_0004(url: str) -> None:
    with open_store(url) as store:
        for flow in (None, "A", "B", "Empty"):
            for namespace in (None, "user:ada", "runtime:local", "prod", "team:1"):
                counts: dict[str, int] = {}
                for run in store.find_runs(RunFilter(flow), PageRequest(100)):
                    if namespace is None or namespace in run.tags:
                        for tag in run.tags:
                            counts[tag] = counts.get(tag, 0) + 1
                listed = store.find_tags(flow, namespace=namespace, page=PageRequest(100))
                assert {t.tag: t.runs for t in listed} == counts, (flow, namespace)
        assert store.find_tags("B", "user:", namespace="user:ada").items == (
            TagCount("user:ada", 10),
        )


def test_0004_counts_the_tags_of_an_existing_history_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    _tagged_history_at_0003(engine)
    engine.dispose()
    _check_counts_after_0004(url)  # opening it migrates it


@pytest.mark.postgres
def test_0004_counts_the_tags_of_an_existing_history_on_postgresql(fresh_postgres: str) -> None:
    engine = create_engine(fresh_postgres)
    _tagged_history_at_0003(engine)
    assert upgrade(engine) == ("0003", head_revision())
    engine.dispose()
    _check_counts_after_0004(fresh_postgres)


def test_0004_refreshes_the_statistics_of_an_analysed_sqlite_history(tmp_path: Path) -> None:
    # With statistics for the old indexes only, SQLite misjudged the new ones and planned the
    # latest run 30 times slower; the upgrade analyses an analysed history again.
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _tagged_history_at_0003(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    upgrade(engine)
    with engine.connect() as conn:
        analysed = set(conn.exec_driver_sql("SELECT idx FROM sqlite_stat1").scalars())
    engine.dispose()
    assert {
        "ix_tag_counts_namespace_tag_flow_pk",
        "ix_runs_flow_pk_user_name_pk_created_at",
        "ix_runs_user_name_pk_created_at",
    } <= analysed


def _check_tag_lists_after_0005(url: str) -> None:
    # Each run's record shows the tags of its run_tags rows, read from its tag_list now.
    users = ("ada", "bob", "cy")
    with open_store(url) as store:
        for pk in range(1, 31):
            flow = "A" if pk % 3 else "B"
            run = store.get_run(Pathspec(flow, str(pk)))
            system = {f"user:{users[pk % 3]}"} | ({"runtime:local"} if pk % 2 else set())
            assert run.system_tags == system, pk
            assert run.user_tags == {f"team:{pk % 4}"} | (set() if pk % 2 else {"prod"}), pk


def test_0005_lists_the_tags_of_an_existing_history_in_each_run_on_sqlite(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    _tagged_history_at_0003(engine)
    upgrade(engine, "0004")
    engine.dispose()
    _check_tag_lists_after_0005(url)  # opening it migrates it
    # The column is what the records read: blank it, and they show no tags.
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET tag_list = ''"))
    engine.dispose()
    with pytest.raises(AssertionError):
        _check_tag_lists_after_0005(url)


@pytest.mark.postgres
def test_0005_lists_the_tags_of_an_existing_history_in_each_run_on_postgresql(
    fresh_postgres: str,
) -> None:
    engine = create_engine(fresh_postgres)
    _tagged_history_at_0003(engine)
    assert upgrade(engine) == ("0003", head_revision())
    engine.dispose()
    _check_tag_lists_after_0005(fresh_postgres)
