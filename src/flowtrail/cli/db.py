"""``flowtrail db``: the schema of the metadata database (``upgrade``, ``status``).

The database is the one ``--db`` names, else the metadata database of the resolved settings
(the SQLite file in ``.flowtrail`` by default). URLs are shown with their password masked, and
the password is never part of an error message.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.config.spec import check_database_url, mask_password, url_scheme
from flowtrail.errors import InvalidArgument

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from flowtrail.store.sql.connect import Database

# SQLAlchemy and Alembic are imported inside the commands: they take a third of a second to
# import, and `flowtrail --help` (or any other command) should not pay for them.

__all__ = ["db_group", "status_command", "upgrade_command"]

_DB_OPTION = click.option(
    "--db",
    "db_url",
    metavar="URL",
    default=None,
    help="Database URL (sqlite:///file.db, postgresql+psycopg://user:pw@host/db). "
    "Default: the metadata database of the resolved settings.",
)


def _target(state: CliContext, db_url: str | None, *, create_home: bool) -> Database:
    from flowtrail.store import SCHEMES
    from flowtrail.store.sql.connect import parse_database_url

    if db_url is not None:
        scheme = url_scheme(db_url)
        if scheme not in SCHEMES:
            raise InvalidArgument(
                f"--db takes a database URL starting with one of "
                f"{', '.join(s + '://' for s in SCHEMES)}; got {mask_password(db_url)!r}",
                details={"scheme": scheme},
            )
        text = check_database_url(db_url)
    else:
        settings = state.settings()
        if settings.metadata == "service":
            raise InvalidArgument(
                f"the metadata provider is {settings.describe_metadata()} (from "
                f"{settings.sources.get('metadata', 'default')}): the flowtrail service "
                "migrates its own database; to migrate a database directly, pass --db URL"
            )
        if settings.metadata == "local" and create_home:
            settings.ensure_home()
        text = settings.metadata_url
    database = parse_database_url(text)
    state.hide(database.url.password)
    return database


@contextmanager
def _engine(target: Database) -> Iterator[Engine]:
    """An engine on the target; driver errors become flowtrail errors, and it is disposed."""
    from flowtrail.store.sql.connect import translate_driver_errors

    engine = target.engine()
    try:
        with translate_driver_errors(target):
            yield engine
    finally:
        engine.dispose()


@click.group("db")
def db_group() -> None:
    """Manage the schema of the metadata database.

    \b
    Example:
        flowtrail db status
        flowtrail db upgrade --db postgresql+psycopg://flowtrail@db.internal/flowtrail
    """


@db_group.command("upgrade")
@_DB_OPTION
@pass_cli_context
def upgrade_command(state: CliContext, db_url: str | None) -> None:
    """Migrate the metadata database to the newest schema.

    Applies every pending migration under a lock, so running it twice, or from two hosts at
    once, is safe. Without --db, the embedded database (.flowtrail/flowtrail.db) is created
    if it does not exist. A service provider migrates its own database.

    \b
    Example:
        flowtrail db upgrade --db postgresql+psycopg://flowtrail@db.internal/flowtrail
    """
    from flowtrail.store.sql import upgrade

    target = _target(state, db_url, create_home=True)
    with _engine(target) as engine:
        before, after = upgrade(engine)
    if before == after:
        click.echo(f"{target.display} already at {after}")
    else:
        click.echo(f"upgraded {target.display} from {before or 'none'} to {after}")


@db_group.command("status")
@_DB_OPTION
@pass_cli_context
def status_command(state: CliContext, db_url: str | None) -> None:
    """Show the schema revision of the metadata database and whether it needs an upgrade.

    Changes nothing (a missing SQLite file is reported at revision none, not created) and
    exits with status 0 whether or not an upgrade is needed.

    \b
    Example:
        flowtrail db status --db sqlite:///.flowtrail/flowtrail.db
    """
    from flowtrail.store.sql.migrate import current_revision, head_revision, is_known_revision

    target = _target(state, db_url, create_home=False)
    head = head_revision()
    if target.sqlite_file is not None and not target.sqlite_file.exists():
        current = None
    else:
        with _engine(target) as engine, engine.connect() as conn:
            current = current_revision(conn)
    click.echo(f"database: {target.display}")
    click.echo(f"current:  {current or 'none'}")
    click.echo(f"head:     {head}")
    if current == head:
        click.echo("up to date")
    elif current is not None and not is_known_revision(current):
        click.echo("written by a newer flowtrail: upgrade flowtrail (pip install -U flowtrail)")
    else:
        click.echo(f"needs upgrade: run flowtrail db upgrade --db {shlex.quote(target.display)}")
