"""Tests of the ``flowtrail`` command line: help and docs of every command, ``db``, ``config``,
and how errors are shown (one line, exit 1, never a password)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from flowtrail import __version__
from flowtrail.cli import cli
from flowtrail.config import find_home
from flowtrail.store.sql import head_revision

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reference" / "cli.md"
SCRIPT = Path(sys.executable).with_name("flowtrail")
UNREACHABLE = "postgresql+psycopg://u:secret@127.0.0.1:1/x"


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run each test in an empty folder, without FLOWTRAIL_* settings or a profile file."""
    for name in list(os.environ):
        if name.startswith("FLOWTRAIL_") and not name.startswith("FLOWTRAIL_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: no folding of long paths
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the CLI in process, as the console script would."""
    return CliRunner().invoke(cli, list(args), env=env, prog_name="flowtrail")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a real process (with the test's environment), capturing its output."""
    return subprocess.run(
        list(args), cwd=cwd, env=dict(os.environ), capture_output=True, text=True, timeout=60
    )


def assert_one_line_error(stdout: str, stderr: str, *, hidden: str | None = None) -> str:
    """Check the shape of a failure's output; return the error line."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stdout + stderr
    if hidden is not None:
        assert hidden not in stdout + stderr
    return lines[0]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.as_posix()}"


# --- help, version, entry points -------------------------------------------------------------


def test_help_and_version() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Usage: flowtrail [OPTIONS] COMMAND" in result.stdout
    assert "db " in result.stdout
    assert "config " in result.stdout
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"flowtrail {__version__}\n"


def test_console_script(workdir: Path) -> None:
    assert SCRIPT.is_file(), f"the console script is not installed at {SCRIPT}"
    version = run(str(SCRIPT), "--version", cwd=workdir)
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"flowtrail {__version__}\n"
    failed = run(str(SCRIPT), "db", "status", "--db", UNREACHABLE, cwd=workdir)
    assert failed.returncode == 1
    line = assert_one_line_error(failed.stdout, failed.stderr, hidden="secret")
    assert "postgresql+psycopg://u:***@127.0.0.1:1/x" in line


def test_python_dash_m(workdir: Path) -> None:
    result = run(sys.executable, "-m", "flowtrail", "--help", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Usage: flowtrail" in result.stdout
    result = run(sys.executable, "-m", "flowtrail", "--version", cwd=workdir)
    assert result.stdout == f"flowtrail {__version__}\n"


def walk(
    command: click.Command, path: tuple[str, ...] = ("flowtrail",)
) -> Iterator[tuple[str, ...]]:
    """Every command and group under ``command``, as its path of names."""
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


def resolve(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path[1:]:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


COMMANDS = list(walk(cli))


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_an_example_and_a_doc_section(path: tuple[str, ...]) -> None:
    command = resolve(path)
    assert "Example" in (command.help or ""), f"{' '.join(path)} has no Example in its help"
    rendered = invoke(*path[1:], "--help")
    assert rendered.exit_code == 0
    assert "Example:" in rendered.stdout
    headings = re.findall(r"^## (.+?)\s*$", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert " ".join(path) in headings, f"docs/reference/cli.md has no '## {' '.join(path)}'"


def test_every_doc_section_names_a_command() -> None:
    headings = re.findall(r"^## (flowtrail.*?)\s*$", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert sorted(headings) == sorted(" ".join(path) for path in COMMANDS)


# --- db ----------------------------------------------------------------------------------------


def test_db_upgrade_then_status(workdir: Path) -> None:
    url = sqlite_url(workdir / "history.db")
    head = head_revision()
    first = invoke("db", "upgrade", "--db", url)
    assert first.exit_code == 0, first.output
    assert first.stdout == f"upgraded {url} from none to {head}\n"
    again = invoke("db", "upgrade", "--db", url)
    assert again.stdout == f"{url} already at {head}\n"
    status = invoke("db", "status", "--db", url)
    assert status.exit_code == 0
    assert f"current:  {head}" in status.stdout
    assert status.stdout.rstrip().endswith("up to date")


def test_db_status_of_an_empty_database_needs_an_upgrade(workdir: Path) -> None:
    path = workdir / "empty.db"
    sqlite3.connect(path).close()
    result = invoke("db", "status", "--db", sqlite_url(path))
    assert result.exit_code == 0
    assert "current:  none" in result.stdout
    assert f"needs upgrade: run flowtrail db upgrade --db {sqlite_url(path)}" in result.stdout
    missing = workdir / "missing.db"
    assert invoke("db", "status", "--db", sqlite_url(missing)).exit_code == 0
    assert not missing.exists(), "db status must not create a database"


def test_db_status_of_a_database_from_a_newer_flowtrail(workdir: Path) -> None:
    url = sqlite_url(workdir / "newer.db")
    assert invoke("db", "upgrade", "--db", url).exit_code == 0
    with sqlite3.connect(workdir / "newer.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    result = invoke("db", "status", "--db", url)
    assert result.exit_code == 0
    assert "current:  f00dfeed" in result.stdout
    assert "written by a newer flowtrail" in result.stdout
    refused = invoke("db", "upgrade", "--db", url)
    assert refused.exit_code == 1
    assert "newer flowtrail" in refused.stderr


def test_db_upgrade_defaults_to_the_embedded_store(workdir: Path) -> None:
    if find_home(workdir) is not None:
        pytest.skip(f"an ancestor of {workdir} has a .flowtrail folder")
    status = invoke("db", "status")
    assert "needs upgrade" in status.stdout
    assert not (workdir / ".flowtrail").exists()
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    database = workdir / ".flowtrail" / "flowtrail.db"
    assert result.stdout.startswith(f"upgraded {sqlite_url(database)} from none to ")
    assert database.is_file()
    assert invoke("db", "status").stdout.rstrip().endswith("up to date")


def test_db_upgrade_follows_relative_sqlite_urls(workdir: Path) -> None:
    result = invoke("db", "upgrade", "--db", "sqlite:///relative.db")
    assert result.exit_code == 0, result.output
    assert sqlite_url(workdir / "relative.db") in result.stdout
    assert (workdir / "relative.db").is_file()


@pytest.mark.parametrize("command", ["upgrade", "status"])
def test_unreachable_postgres_is_one_line_without_the_password(command: str) -> None:
    result = invoke("db", command, "--db", UNREACHABLE)
    assert result.exit_code == 1
    assert result.exc_info is not None
    assert result.exc_info[0] is SystemExit  # not an exception that escaped
    line = assert_one_line_error(result.stdout, result.stderr, hidden="secret")
    assert "cannot reach the metadata store at postgresql+psycopg://u:***@127.0.0.1:1/x" in line


def test_password_from_the_environment_is_never_shown() -> None:
    result = invoke("db", "upgrade", env={"FLOWTRAIL_METADATA": f"sql@{UNREACHABLE}"})
    assert result.exit_code == 1
    assert_one_line_error(result.stdout, result.stderr, hidden="secret")


def test_unknown_scheme_is_a_one_line_error() -> None:
    result = invoke("db", "upgrade", "--db", "mysql://u:hunter2@db/x")
    assert result.exit_code == 1
    line = assert_one_line_error(result.stdout, result.stderr, hidden="hunter2")
    assert "sqlite://, sqlite+pysqlite://, postgresql://, postgresql+psycopg://" in line
    result = invoke("--metadata", "garbage", "config", "show")
    assert result.exit_code == 1
    assert "invalid metadata spec 'garbage'" in assert_one_line_error(result.stdout, result.stderr)


def test_missing_sqlite_folder_is_a_one_line_error(workdir: Path) -> None:
    result = invoke("db", "upgrade", "--db", sqlite_url(workdir / "nowhere" / "x.db"))
    assert result.exit_code == 1
    assert "does not exist" in assert_one_line_error(result.stdout, result.stderr)


def test_db_commands_refuse_the_service_provider() -> None:
    env = {"FLOWTRAIL_METADATA": "service@http://flowtrail.internal:8080"}
    result = invoke("db", "upgrade", env=env)
    assert result.exit_code == 1
    line = assert_one_line_error(result.stdout, result.stderr)
    assert "service migrates its own database" in line


def test_usage_errors_exit_2() -> None:
    assert invoke("config", "show", "--output", "xml").exit_code == 2
    assert invoke("db", "frobnicate").exit_code == 2


@pytest.mark.postgres
def test_db_upgrade_on_postgres(fresh_postgres: str) -> None:
    shown = make_url(fresh_postgres).render_as_string(hide_password=True)
    assert "needs upgrade" in invoke("db", "status", "--db", fresh_postgres).stdout
    result = invoke("db", "upgrade", "--db", fresh_postgres)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"upgraded {shown} from none to {head_revision()}\n"
    assert invoke("db", "status", "--db", fresh_postgres).stdout.rstrip().endswith("up to date")


# --- config ------------------------------------------------------------------------------------


def test_config_show_json_reports_values_and_sources(workdir: Path) -> None:
    env = {
        "FLOWTRAIL_METADATA": "sql@postgresql+psycopg://me:pw123@db.internal/flowtrail",
        "FLOWTRAIL_DATASTORE_ROOT": str(workdir / "blobs"),
    }
    result = invoke("config", "show", "--output", "json", env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["metadata"] == {
        "value": "sql@postgresql+psycopg://me:***@db.internal/flowtrail",
        "source": "env:FLOWTRAIL_METADATA",
    }
    assert report["datastore_root"] == {
        "value": str(workdir / "blobs"),
        "source": "env:FLOWTRAIL_DATASTORE_ROOT",
    }
    assert report["datastore"] == {"value": "local", "source": "default"}
    assert report["profile"] == {"value": None, "source": "default"}
    assert report["home"]["source"] == "default"
    assert report["config_file"]["exists"] is False
    assert "pw123" not in result.output


def test_config_show_table_of_the_embedded_default(workdir: Path) -> None:
    if find_home(workdir) is not None:
        pytest.skip(f"an ancestor of {workdir} has a .flowtrail folder")
    result = invoke("config", "show")
    assert result.exit_code == 0, result.output
    assert f"local@{workdir / '.flowtrail'}" in result.stdout
    assert re.search(r"datastore\s+local\s+default", result.stdout)
    assert not (workdir / ".flowtrail").exists(), "config show must not create anything"


def test_config_show_with_a_profile(workdir: Path) -> None:
    config = workdir / "flowtrail.toml"
    config.write_text('[profiles.team]\nmetadata = "service@http://ft.internal:8080"\n')
    env = {"FLOWTRAIL_CONFIG": str(config)}
    result = invoke("--profile", "team", "config", "show", "-o", "json", env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["metadata"]["value"] == "service@http://ft.internal:8080"
    assert report["metadata"]["source"] == f"profile:team ({config})"
    assert report["profile"] == {"value": "team", "source": "argument"}
    missing = invoke("--profile", "nope", "config", "show", env=env)
    assert missing.exit_code == 1
    assert "'nope'" in assert_one_line_error(missing.stdout, missing.stderr)
