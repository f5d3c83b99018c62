"""Metadata providers: switching, the default from the environment, settings resolved at the
first call (never at import), service URLs, SQL URLs, and objects bound to a provider."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowtrail.blobs import open_blob_store
from flowtrail.client import (
    Flow,
    Flowtrail,
    Provider,
    Run,
    Task,
    default_metadata,
    get_metadata,
    metadata,
    namespace,
)
from flowtrail.client.provider import current_provider
from flowtrail.config import resolve_settings
from flowtrail.errors import InvalidArgument, NotFound
from flowtrail.store import open_store
from tests.client.conftest import History
from tests.client.history import T0, record_train_flow


def test_metadata_takes_a_path_meaning_the_flowtrail_home(history: History) -> None:
    assert get_metadata() == f"local@{history.home}"
    other = history.home.parent / "other" / ".flowtrail"
    assert metadata(str(other)) == f"local@{other}"
    assert get_metadata() == f"local@{other}"
    assert metadata(f"local@{history.home}") == f"local@{history.home}"
    assert [r.id for r in Flow("TrainFlow")] == ["5", "4", "2", "1"]


def test_switching_affects_objects_created_afterwards(history: History, tmp_path: Path) -> None:
    before = Flow("TrainFlow")
    metadata(str(tmp_path / "empty" / ".flowtrail"))
    with pytest.raises(NotFound):
        Flow("TrainFlow")
    assert Flowtrail().flows == []
    # The flow created before the switch still reads the first provider.
    assert before.latest_run is not None
    assert before.latest_run.id == "5"
    assert before.provider.describe() == f"local@{history.home}"


def test_the_default_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "env-home" / ".flowtrail"
    monkeypatch.setenv("FLOWTRAIL_METADATA", f"local@{home}")
    assert get_metadata() == f"local@{home}"  # resolved now, at the first call
    metadata(str(tmp_path / "elsewhere"))
    assert get_metadata() == f"local@{tmp_path / 'elsewhere'}"
    assert default_metadata() == f"local@{home}"
    assert get_metadata() == f"local@{home}"


def test_without_configuration_the_home_is_found_from_the_working_directory(
    tmp_path: Path,
) -> None:
    assert get_metadata() == f"local@{tmp_path / '.flowtrail'}"  # the fixture's cwd
    assert not (tmp_path / ".flowtrail").exists()  # describing opens nothing
    assert Flowtrail().flows == []


def test_nothing_is_read_at_import_time(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        import flowtrail.client, flowtrail.compat.metaflow
        from flowtrail.errors import InvalidArgument
        # The stores' libraries load when a provider opens its stores, not at import.
        print("loaded:", [m for m in ("sqlalchemy", "zstandard") if m in sys.modules])
        try:
            flowtrail.client.get_metadata()
        except InvalidArgument as exc:
            print("first call:", exc)
        """
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FLOWTRAIL_METADATA": "garbage"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "loaded: []" in result.stdout
    assert "first call: metadata from env:FLOWTRAIL_METADATA" in result.stdout
    assert not (tmp_path / ".flowtrail").exists()


def test_a_bad_spec_leaves_the_provider_as_it_was(history: History) -> None:
    with pytest.raises(InvalidArgument, match="accepted forms"):
        metadata("garbage")
    assert get_metadata() == f"local@{history.home}"


@pytest.mark.parametrize(
    ("spec", "described"),
    [
        ("https://flowtrail.example.com/", "service@https://flowtrail.example.com"),
        ("service@http://127.0.0.1:8080", "service@http://127.0.0.1:8080"),
    ],
)
def test_a_service_url_opens_the_http_store(spec: str, described: str) -> None:
    from flowtrail.store.http import HttpStore

    assert metadata(spec) == described
    assert get_metadata() == described
    store = current_provider().store  # opening sends no request
    assert isinstance(store, HttpStore)
    assert store.url == described.removeprefix("service@")


def test_sql_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWTRAIL_DATASTORE_ROOT", str(tmp_path / "blobs"))
    db = tmp_path / "history.db"
    assert metadata(f"sql@sqlite:///{db}") == f"sql@sqlite:///{db}"
    provider = current_provider()
    record_train_flow(provider.store, provider.blobs, created_at=T0)
    namespace("user:alice")
    assert Run("TrainFlow/1").data.accuracy == 0.97  # type: ignore[union-attr]
    assert (tmp_path / "blobs" / "blobs").is_dir()


def test_sql_provider_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    described = metadata(f"sql@{postgres_url}")
    assert described.startswith("sql@postgresql+psycopg://")
    assert Flowtrail().provider.store.url.startswith("postgresql+psycopg://")


def test_switching_to_the_same_stores_keeps_them_open(history: History) -> None:
    provider = current_provider()
    store = provider.store
    metadata(str(history.home))  # a path: the same home as local@
    assert current_provider().store is store


def test_switching_to_the_same_stores_describes_what_was_asked(history: History) -> None:
    store = current_provider().store
    database = f"sql@sqlite:///{history.home / 'flowtrail.db'}"
    assert metadata(database) == database  # the same database as local@, named as asked
    assert get_metadata() == database
    assert current_provider().store is store
    assert metadata(f"local@{history.home}") == f"local@{history.home}"
    assert get_metadata() == f"local@{history.home}"
    assert [r.id for r in Flow("TrainFlow")] == ["5", "4", "2", "1"]


def test_local_at_the_folder_holding_the_home_reads_that_home(history: History) -> None:
    # As Metaflow's local@PATH names the folder holding .metaflow.
    assert metadata(f"local@{history.home.parent}") == f"local@{history.home}"
    assert [r.id for r in Flow("TrainFlow")] == ["5", "4", "2", "1"]


def test_a_folder_without_history_says_so(history: History, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    metadata(f"local@{empty}")
    with pytest.raises(
        NotFound, match=r"nothing has been recorded in .*empty \(it holds no history\)"
    ):
        Flow("TrainFlow")
    metadata(f"local@{tmp_path / 'absent'}")
    with pytest.raises(NotFound, match=r"absent \(it does not exist\)"):
        Flow("TrainFlow")
    assert not (tmp_path / "absent").exists()


def test_switching_closes_the_old_stores_and_old_objects_still_work(
    history: History, tmp_path: Path
) -> None:
    old = current_provider()
    run = Run("TrainFlow/2")
    metadata(str(tmp_path / "new"))
    assert old._store is None  # closed on the switch
    assert run["end"].task.data.accuracy == 0.97  # type: ignore[union-attr]


def test_objects_bound_to_an_explicit_provider(history: History, tmp_path: Path) -> None:
    settings = history.provider.settings
    metadata(str(tmp_path / "elsewhere"))  # the current provider is empty now
    run = Run("TrainFlow/2", provider=settings)
    assert run.successful
    assert run.provider.settings == settings
    assert run["end"].task.provider is run.provider  # children share it
    with (
        open_store(settings.metadata_url) as store,
        open_blob_store(settings.blob_url) as blobs,
    ):
        shared = Provider(settings, store=store, blobs=blobs)
        bound = Run("TrainFlow/2", provider=shared, _namespace_check=False)
        assert bound.data.accuracy == 0.97  # type: ignore[union-attr]
        shared.close()  # a provider never closes stores it was given
        assert store.get_run(bound._spec).run_id == "2"
    assert Flowtrail(provider=settings).flows == [Flow("TrainFlow", provider=settings)]
    with pytest.raises(InvalidArgument, match="provider must be"):
        Run("TrainFlow/2", provider="local")  # type: ignore[arg-type]


def test_provider_from_spec(tmp_path: Path) -> None:
    provider = Provider.from_spec(f"local@{tmp_path}")
    assert provider.describe() == f"local@{tmp_path}"
    assert repr(provider) == f"Provider('local@{tmp_path}')"
    assert provider.settings == resolve_settings(metadata=f"local@{tmp_path}")


def test_bound_objects_ignore_the_current_provider_and_namespace(
    history: History, tmp_path: Path
) -> None:
    settings = history.provider.settings
    metadata(str(tmp_path / "elsewhere"))
    namespace("nobody")
    run = Run.bound("TrainFlow/3", settings)  # bob's run
    assert run.user == "bob"
    assert [s.id for s in run] == ["end", "join", "train", "start"]
    assert run["end"].task.data.accuracy == 0.97  # type: ignore[union-attr]
    assert run.parent.latest_run == Run.bound("TrainFlow/5", settings)
    assert Task.bound("TrainFlow/3/end/6", Provider(settings)).successful
    with pytest.raises(NotFound):
        Run.bound("TrainFlow/99", settings)


def test_reading_a_sqlite_file_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    database = tmp_path / "new.db"
    metadata(f"sql@sqlite:///{database}")
    assert Flowtrail().flows == []
    with pytest.raises(NotFound, match=r"new\.db \(it does not exist\)"):
        Flow("TrainFlow")
    assert not database.exists()
