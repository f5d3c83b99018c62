"""The service as a real process: ``flowtrail service`` on uvicorn over PostgreSQL, with runs
recording through it and the client and CLI reading through it; tokens; restarts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flowtrail.cli.main import cli
from flowtrail.client import Provider, Run, default_metadata, get_metadata, metadata
from flowtrail.config import resolve_settings
from flowtrail.errors import Forbidden, Unauthorized
from flowtrail.model import NewRun
from flowtrail.store.http import connect_http_store
from flowtrail.store.sql import create_engine
from tests.conftest import ServiceOnPostgres, truncate_all
from tests.service_process import ServiceProcess, clean_env

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
STEADY = Path(__file__).parent / "flows" / "steady.py"
SLEEPY = ROOT / "tests" / "runtime" / "flows" / "sleepy.py"
RUN_TIMEOUT = 600.0


def run_flow(folder: Path, flow: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python <flow> run <args>`` in ``folder`` with ``env`` as the flowtrail settings."""
    shutil.copy(flow, folder / flow.name)
    return subprocess.run(
        [sys.executable, flow.name, "run", *args],
        cwd=folder,
        env=clean_env(XDG_CONFIG_HOME=str(folder / ".config"), **env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def start_flow(folder: Path, flow: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    shutil.copy(flow, folder / flow.name)
    return subprocess.Popen(
        [sys.executable, flow.name, "run", *args],
        cwd=folder,
        env=clean_env(XDG_CONFIG_HOME=str(folder / ".config"), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def flowtrail_cli(folder: Path, *args: str, **env: str) -> str:
    """``flowtrail <args>`` in a subprocess; returns its stdout (it must succeed)."""
    result = subprocess.run(
        [sys.executable, "-m", "flowtrail", *args],
        cwd=folder,
        env=clean_env(XDG_CONFIG_HOME=str(folder / ".config"), **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def summary(run: Run) -> dict[str, Any]:
    """What a run recorded, as the client reads it."""
    tasks: dict[str, Any] = {}
    for step in run:
        for task in step:
            tasks[task.pathspec] = {
                "status": str(task.status),
                "artifacts": {a.id: a.data for a in task},
                "metadata": sorted(
                    (m.name, str(m.value), m.type) for m in task.metadata if m.type == "user"
                ),
                "stdout": task.stdout,
                "stderr": task.stderr,
                "attempts": len(task.attempts),
                "parents": sorted(t.pathspec for t in task.parent_tasks),
            }
    return {
        "pathspec": run.pathspec,
        "status": str(run.status),
        "parameters": dict(run.parameters),
        "tags": sorted(run.tags),
        "data": {"accuracy": run.data.accuracy} if run.data is not None else None,
        "tasks": tasks,
    }


def counts(engine: sa.Engine) -> dict[str, int]:
    """Rows of the tables a run writes."""
    names = ["runs", "steps", "tasks", "attempts", "metadata_entries", "artifacts", "log_lines"]
    with engine.connect() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        return {
            name: conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name in names
            if name in existing
        }


@pytest.fixture
def shared(service_postgres: ServiceOnPostgres) -> ServiceOnPostgres:
    """The session's service process, over an emptied database."""
    truncate_all(service_postgres.engine)
    return service_postgres


def test_a_run_through_the_service_reads_back_as_through_sql(
    shared: ServiceOnPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = shared.service.url
    service_env = {"FLOWTRAIL_METADATA": "service", "FLOWTRAIL_SERVICE_URL": url}
    result = run_flow(tmp_path, ROOT / "examples" / "train_flow.py", "--epochs", "3", **service_env)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / ".flowtrail").exists(), "nothing is written locally"

    # The client, switched to the service, and the same run read straight from SQL (with
    # the service's blob folder) tell the same story.
    for name in [n for n in os.environ if n.startswith("FLOWTRAIL_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert metadata(f"service@{url}") == f"service@{url}"
    assert get_metadata() == f"service@{url}"
    try:
        from flowtrail.client import Flow

        run = Flow("TrainFlow").latest_run
        assert run is not None
        assert run.successful
        through_service = summary(run)
    finally:
        default_metadata()
    sql = Provider(
        resolve_settings(
            metadata=f"sql@{shared.url}",
            datastore_root=str(shared.service.folder / "blobs"),
            env={},
        )
    )
    try:
        through_sql = summary(Run.bound(run.pathspec, sql))
    finally:
        sql.close()
    assert through_service == through_sql
    train = [t for p, t in through_service["tasks"].items() if "/train/" in p]
    assert len(train) == 4
    assert sorted(t["attempts"] for t in train) == [1, 1, 1, 2]
    assert all(t["metadata"][0][0] == "final_loss" for t in train)

    # The CLI through the service prints what it prints reading the database directly.
    sql_env = {
        "FLOWTRAIL_METADATA": f"sql@{shared.url}",
        "FLOWTRAIL_DATASTORE_ROOT": str(shared.service.folder / "blobs"),
    }
    assert flowtrail_cli(tmp_path, "metadata", "get", **service_env) == (
        f"Using metadata provider: service@{url}\n"
    )
    end = next(p for p in through_service["tasks"] if "/end/" in p)
    for args in (
        ("runs", "TrainFlow", "-o", "json"),
        ("show", run.pathspec, "-o", "json"),
        ("show", f"{run.pathspec}/train", "-o", "json"),
        ("show", end, "-o", "json"),
        ("tags", "-o", "json"),
        ("artifact", "get", f"{end}/accuracy"),
    ):
        via_service = flowtrail_cli(tmp_path, *args, **service_env)
        via_sql = flowtrail_cli(tmp_path, *args, **sql_env)
        assert via_service == via_sql, args
    shown = json.loads(flowtrail_cli(tmp_path, "show", run.pathspec, "-o", "json", **service_env))
    assert shown["status"] == "succeeded"


def test_blobs_go_to_a_shared_datastore_when_one_is_configured(
    shared: ServiceOnPostgres, tmp_path: Path
) -> None:
    datastore = tmp_path / "shared-blobs"
    result = run_flow(
        tmp_path,
        STEADY,
        "--count",
        "2",
        "--pause",
        "0",
        FLOWTRAIL_METADATA=f"service@{shared.service.url}",
        FLOWTRAIL_DATASTORE="local",
        FLOWTRAIL_DATASTORE_ROOT=str(datastore),
    )
    assert result.returncode == 0, result.stderr
    written = {p.name for p in (datastore / "blobs").rglob("*") if p.is_file()}
    with shared.engine.connect() as conn:
        shas = set(conn.execute(sa.text("SELECT DISTINCT sha FROM artifacts")).scalars())
    assert shas
    assert shas <= written


# --- tokens -----------------------------------------------------------------------------


@pytest.fixture
def secured(fresh_postgres: str, tmp_path: Path) -> Iterator[tuple[ServiceProcess, dict[str, str]]]:
    """A service process that needs tokens, made with ``flowtrail token create``."""
    tokens: dict[str, str] = {}
    token_file = tmp_path / "tokens"
    runner = CliRunner()
    for role in ("read", "write"):
        made = runner.invoke(
            cli,
            ["token", "create", "--role", role, "--name", f"{role}er", "--file", str(token_file)],
        )
        assert made.exit_code == 0, made.output
        tokens[role] = made.stdout.strip()
    assert not any(token in token_file.read_text() for token in tokens.values())
    service = ServiceProcess(fresh_postgres, tmp_path / "service", "--tokens", str(token_file))
    service.start()
    try:
        yield service, tokens
    finally:
        service.stop()


def test_tokens_over_the_real_process(
    secured: tuple[ServiceProcess, dict[str, str]], tmp_path: Path
) -> None:
    service, tokens = secured
    assert httpx.get(f"{service.url}/ping").status_code == 200
    assert httpx.get(f"{service.url}/api/v1/flows").status_code == 401
    with pytest.raises(Unauthorized):
        connect_http_store(service.url).find_flows()
    reader = connect_http_store(service.url, token=tokens["read"])
    try:
        assert list(reader.find_flows()) == []
        with pytest.raises(Forbidden):
            reader.create_run(NewRun(flow_name="F", user="u"))
    finally:
        reader.close()

    env = {"FLOWTRAIL_METADATA": "service", "FLOWTRAIL_SERVICE_URL": service.url}
    refused = run_flow(tmp_path, STEADY, "--count", "1", "--pause", "0", **env)
    assert refused.returncode != 0
    assert "token" in refused.stderr
    read_only = run_flow(
        tmp_path,
        STEADY,
        "--count",
        "1",
        "--pause",
        "0",
        FLOWTRAIL_SERVICE_TOKEN=tokens["read"],
        **env,
    )
    assert read_only.returncode != 0
    assert "write" in read_only.stderr
    ran = run_flow(
        tmp_path,
        STEADY,
        "--count",
        "2",
        "--pause",
        "0",
        FLOWTRAIL_SERVICE_TOKEN=tokens["write"],
        **env,
    )
    assert ran.returncode == 0, ran.stderr
    listed = flowtrail_cli(
        tmp_path, "runs", "SteadyFlow", "-o", "json", FLOWTRAIL_SERVICE_TOKEN=tokens["read"], **env
    )
    assert [r["status"] for r in json.loads(listed)] == ["succeeded"]

    log = service.log
    assert "2 tokens from" in log
    assert "GET /api/v1/flows 401" in log
    assert "POST /api/v1/batches 200" in log
    for token in tokens.values():
        assert token not in log
    assert "Bearer" not in log


def test_a_public_address_needs_tokens_or_insecure(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'f.db'}"
    result = CliRunner().invoke(cli, ["service", "--db", db, "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "no tokens" in result.output
    assert "--insecure" in result.output
    assert not (tmp_path / "f.db").exists()


def test_a_port_in_use_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'f.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["service", "--db", db, "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; pass another "
        "--port (or --host)\n"
    )
    assert not (tmp_path / "f.db").exists()  # nothing was started, no database made


def test_no_migrate_refuses_with_the_command_to_run(fresh_postgres: str) -> None:
    result = CliRunner().invoke(cli, ["service", "--db", fresh_postgres, "--no-migrate"])
    assert result.exit_code == 1
    assert "flowtrail db upgrade --db" in result.output
    engine = create_engine(fresh_postgres)
    try:
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def test_workers_serve_through_the_launch_environment(fresh_postgres: str, tmp_path: Path) -> None:
    service = ServiceProcess(fresh_postgres, tmp_path / "service", "--workers", "2")
    service.start()
    try:
        result = run_flow(
            tmp_path,
            STEADY,
            "--count",
            "3",
            "--pause",
            "0",
            FLOWTRAIL_METADATA=f"service@{service.url}",
        )
        assert result.returncode == 0, result.stderr
        assert "no tokens: only this machine can connect" in service.log
    finally:
        assert service.stop() == 0
    assert "Application shutdown complete" in service.log


# --- restarts ---------------------------------------------------------------------------


def wait_for(condition: Any, what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_run_goes_on_through_a_service_restart(
    fresh_postgres: str, tmp_path: Path, sig: int
) -> None:
    service = ServiceProcess(fresh_postgres, tmp_path / "service")
    service.start()
    engine = create_engine(fresh_postgres)
    count = 8
    try:
        run = start_flow(
            tmp_path,
            STEADY,
            "--count",
            str(count),
            "--pause",
            "0.5",
            "--max-workers",
            "2",
            FLOWTRAIL_METADATA=f"service@{service.url}",
            FLOWTRAIL_STORE_RETRY_SECONDS="120",
        )
        wait_for(lambda: counts(engine).get("artifacts", 0) > 0, "the first artifacts")
        service.stop(sig)
        time.sleep(1.0)
        service.start()
        _out, err = run.communicate(timeout=RUN_TIMEOUT)
        assert run.returncode == 0, err
        with engine.connect() as conn:
            status = conn.execute(sa.text("SELECT status FROM runs")).scalar_one()
            per_task = conn.execute(
                sa.text(
                    "SELECT t.task_id, count(*) FROM tasks t "
                    "JOIN attempts a ON a.task_pk = t.pk GROUP BY t.task_id"
                )
            ).all()
        assert status == "succeeded"
        rows = counts(engine)
        tasks = 1 + count + 2  # start, the foreach, join, end
        assert rows["tasks"] == tasks
        assert rows["attempts"] == tasks
        assert rows["steps"] == 4
        assert sorted(n for _, n in per_task) == [1] * tasks
        reader = Provider(
            resolve_settings(
                metadata=f"sql@{fresh_postgres}",
                datastore_root=str(service.folder / "blobs"),
                env={},
            )
        )
        try:
            pathspec = "SteadyFlow/1"
            read = Run.bound(pathspec, reader)
            work = list(read["work"])
            assert len(work) == count
            for task in work:
                item = task["square"].data
                assert task.stdout.splitlines() == [
                    f"item {task.index} begins",
                    f"item {task.index} ends",
                ]
                assert item == task.index * task.index
                assert [m.name for m in task.metadata if m.type == "user"] == ["item"]
                assert len(task.attempts) == 1
            assert read.data is not None
            assert read.data.total == sum(i * i for i in range(count))
        finally:
            reader.close()
        # Every artifact, metadata entry and log line exactly once per task and attempt.
        with engine.connect() as conn:
            for table, key in (
                ("artifacts", "task_pk, attempt, name"),
                ("metadata_entries", "task_pk, attempt, field_name, type"),
                ("log_lines", "task_pk, attempt, stream, text"),
            ):
                dupes = conn.execute(
                    sa.text(
                        f"SELECT {key}, count(*) FROM {table} GROUP BY {key} HAVING count(*) > 1"
                    )
                ).all()
                assert dupes == [], table
    finally:
        service.stop()
        engine.dispose()


def test_a_run_fails_clearly_when_the_service_stays_away(
    fresh_postgres: str, tmp_path: Path
) -> None:
    service = ServiceProcess(fresh_postgres, tmp_path / "service")
    service.start()
    marker = tmp_path / "ready"
    try:
        run = start_flow(
            tmp_path,
            SLEEPY,
            "--seconds",
            "30",
            "--heartbeat-timeout",
            "2",
            "--store-retry-seconds",
            "2",
            FLOWTRAIL_METADATA=f"service@{service.url}",
            SLEEPY_MARKER=str(marker),
        )
        wait_for(marker.exists, "the wait step")
        service.stop()
        _out, err = run.communicate(timeout=RUN_TIMEOUT)
    finally:
        service.stop()
    assert run.returncode != 0
    assert "unavailable" in err
    assert "the limit is 2 s" in err
