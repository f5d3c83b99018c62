"""``flowtrail service``: serve one history over HTTP (uvicorn on :func:`create_app`).

The command resolves everything in the parent process (the database, the blob store, the
tokens, the schema) and hands the result to the server through one environment variable,
:data:`LAUNCH_ENV`, that :func:`app_from_environment` reads in every server process: with
``--workers N`` uvicorn starts its workers from an import string, so the resolved settings
cannot travel as Python objects. The variable holds only the hashes of the tokens, never a
token; no token ever appears in the command line or a log line.

With ``--workers N`` (N > 1) the command also makes a private temporary folder, names it in
``PROMETHEUS_MULTIPROC_DIR`` before uvicorn starts the workers (prometheus-client reads it
when a worker first imports it), and removes it when the server stops: the workers count in
files there and ``/metrics`` adds them up, whichever worker answers.
"""

from __future__ import annotations

import gc
import ipaddress
import json
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from flowtrail.cli.context import CliContext, pass_cli_context
from flowtrail.config.spec import check_database_url, mask_password, url_scheme
from flowtrail.errors import InvalidArgument

if TYPE_CHECKING:
    from fastapi import FastAPI

    from flowtrail.service.auth import AuthConfig

__all__ = ["LAUNCH_ENV", "TOKEN_FILENAME", "app_from_environment", "service_command"]

#: The environment variable that carries the resolved launch to the server processes.
LAUNCH_ENV = "FLOWTRAIL_SERVICE_LAUNCH"

#: The token file the service reads by default, in the ``.flowtrail`` home folder.
TOKEN_FILENAME = "service-tokens"

_FACTORY = "flowtrail.cli.service:app_from_environment"


@dataclass(frozen=True, slots=True)
class Launch:
    """What every server process needs to build the app: no secrets but the database URL.

    Attributes:
        db: The metadata database URL (its schema already checked by the parent).
        blobs: The blob store URL or folder.
        tokens: ``(name, role, sha256 digest)`` of each accepted token; empty: no tokens.
        max_body_bytes: The largest JSON request body accepted.
        metrics_dir: The folder the server processes share their metrics through (several
            workers), or ``None`` (one process).
    """

    db: str
    blobs: str
    tokens: tuple[tuple[str, str, str], ...]
    max_body_bytes: int
    metrics_dir: str | None = None

    def dumps(self) -> str:
        return json.dumps(
            {
                "db": self.db,
                "blobs": self.blobs,
                "tokens": [list(t) for t in self.tokens],
                "max_body_bytes": self.max_body_bytes,
                "metrics_dir": self.metrics_dir,
            }
        )

    @classmethod
    def loads(cls, text: str) -> Launch:
        data = json.loads(text)
        metrics_dir = data.get("metrics_dir")
        return cls(
            db=data["db"],
            blobs=data["blobs"],
            tokens=tuple((str(n), str(r), str(d)) for n, r, d in data["tokens"]),
            max_body_bytes=int(data["max_body_bytes"]),
            metrics_dir=None if metrics_dir is None else str(metrics_dir),
        )


def app_from_environment() -> FastAPI:
    """Build the app of the launch in :data:`LAUNCH_ENV` (uvicorn's factory).

    The stores are opened here, in the server process, and closed when the server shuts
    down (the app's lifespan ends).

    Raises:
        InvalidArgument: the variable is missing (this is not meant to be called by hand:
            run ``flowtrail service``).
    """
    from flowtrail.blobs import open_blob_store
    from flowtrail.service import AuthConfig, Role, ServiceConfig, TokenEntry, create_app
    from flowtrail.store import open_store

    text = os.environ.get(LAUNCH_ENV)
    if not text:
        raise InvalidArgument(f"{LAUNCH_ENV} is not set: start the service with flowtrail service")
    launch = Launch.loads(text)
    auth = None
    if launch.tokens:
        auth = AuthConfig.of(TokenEntry(n, Role.parse(r), d) for n, r, d in launch.tokens)
    store = open_store(launch.db, migrate="check")
    try:
        blobs = open_blob_store(launch.blobs)
    except BaseException:
        store.close()
        raise
    try:
        config = ServiceConfig(
            auth=auth,
            max_body_bytes=launch.max_body_bytes,
            metrics_dir=None if launch.metrics_dir is None else Path(launch.metrics_dir),
        )
        app = create_app(store, blobs, config)
    except BaseException:
        blobs.close()
        store.close()
        raise
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        try:
            async with inner(app_) as state:
                yield state
        finally:
            blobs.close()
            store.close()

    app.router.lifespan_context = lifespan
    _tune_gc()
    return app


def _tune_gc() -> None:
    """Fewer, cheaper garbage collections in a server process: what the app and its
    libraries made at start-up is frozen out of every collection, and the youngest
    generation is collected after 20,000 allocations instead of 700. A batch of 50 tasks
    makes about 10,000 objects; with the defaults its request paid for several collections
    walking the whole heap (about 3 ms of 12 ms of validation, measured). Reference counting
    still frees everything that is not a cycle at once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _database(state: CliContext, db_url: str | None) -> tuple[str, str | None]:
    """The database URL to serve, and the blob folder of the embedded default (or ``None``)."""
    from flowtrail.store import SCHEMES

    if db_url is not None:
        scheme = url_scheme(db_url)
        if scheme not in SCHEMES or scheme in ("http", "https"):
            raise InvalidArgument(
                "--db takes a database URL (sqlite:///file.db, "
                f"postgresql+psycopg://user:pw@host/db); got {mask_password(db_url)!r}",
                details={"scheme": scheme},
            )
        return check_database_url(db_url), None
    settings = state.settings()
    if settings.metadata == "service":
        raise InvalidArgument(
            f"the metadata provider is {settings.describe_metadata()} (from "
            f"{settings.sources.get('metadata', 'default')}): a service serves a database, not "
            "another service; pass --db URL (or unset FLOWTRAIL_METADATA to serve .flowtrail)"
        )
    if settings.metadata == "local":
        settings.ensure_home()
    return settings.metadata_url, settings.blob_url


def _tokens(tokens_file: Path | None, home: Path | None) -> tuple[AuthConfig | None, str]:
    """The accepted tokens (``None``: no tokens) and where they came from."""
    from flowtrail.service.auth import TOKENS_ENV, load_token_file, parse_token_env

    found: list[tuple[AuthConfig, str]] = []
    path = tokens_file
    if path is None and home is not None and (home / TOKEN_FILENAME).is_file():
        path = home / TOKEN_FILENAME
    if path is not None:
        found.append((load_token_file(path), str(path)))
    if os.environ.get(TOKENS_ENV, "").strip():
        found.append((parse_token_env(os.environ[TOKENS_ENV]), TOKENS_ENV))
    if not found:
        return None, ""
    auth = found[0][0]
    for more, _ in found[1:]:
        auth = auth | more
    if not len(auth):
        return None, ""
    return auth, " and ".join(where for _, where in found)


def _check_schema(db: str, migrate: bool) -> str:
    """Apply pending migrations (or refuse with the command to run); returns the URL shown."""
    from flowtrail.store.sql.connect import parse_database_url, translate_driver_errors
    from flowtrail.store.sql.migrate import MigrateMode, ensure_schema

    database = parse_database_url(db)
    engine = database.engine()
    try:
        with translate_driver_errors(database):
            ensure_schema(
                engine, MigrateMode.UPGRADE if migrate else MigrateMode.CHECK, database.display
            )
    finally:
        engine.dispose()
    return database.display


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _log_config() -> dict[str, Any]:
    """uvicorn's loggers plus flowtrail's: one line per request from the app's middleware
    (uvicorn's access log is off, so there is no second line; neither shows headers)."""
    # The process id tells the lines of the workers apart (--workers N).
    fmt = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": fmt}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "flowtrail": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


@click.command("service")
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    default=None,
    help="The database to serve (postgresql+psycopg://user:pw@host/db for a team). "
    "Default: the metadata database of the resolved settings (.flowtrail/flowtrail.db).",
)
@click.option(
    "--blobs",
    "blobs_url",
    metavar="URL",
    default=None,
    help="Where the blobs behind /api/v1/blobs live (a folder, s3://bucket/prefix). "
    "Default: the datastore of the resolved settings (.flowtrail).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Server processes (each with its own connection pool; /metrics adds up all).",
)
@click.option(
    "--tokens",
    "tokens_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The token file (see flowtrail token create). Default: .flowtrail/{TOKEN_FILENAME} "
    "if it exists; FLOWTRAIL_SERVICE_TOKENS (role:token,...) adds more.",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow binding an address other than loopback without tokens (anyone who can "
    "reach it may read and write everything).",
)
@click.option(
    "--no-migrate",
    is_flag=True,
    help="Do not apply pending migrations: refuse to start, with the command to run, if "
    "the database is behind.",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="The largest JSON request body accepted (default 16 MiB); larger ones get 413.",
)
@pass_cli_context
def service_command(
    state: CliContext,
    db_url: str | None,
    blobs_url: str | None,
    host: str,
    port: int,
    workers: int,
    tokens_file: Path | None,
    insecure: bool,
    no_migrate: bool,
    max_body_bytes: int | None,
) -> None:
    """Serve the history over HTTP: the JSON API under /api/v1, /ping, /metrics, /docs.

    Runs and the client then record and read through it: FLOWTRAIL_METADATA=service with
    FLOWTRAIL_SERVICE_URL=http://host:port (and FLOWTRAIL_SERVICE_TOKEN). Pending
    migrations are applied on start; SIGTERM or Ctrl-C stops it cleanly. Without tokens it
    listens on loopback only: other addresses need tokens (flowtrail token create) or
    --insecure.

    \b
    Example:
        flowtrail service
        flowtrail service --db postgresql+psycopg://flowtrail@db/flowtrail \\
            --blobs s3://team-bucket/flowtrail --host 0.0.0.0 --workers 4 --tokens tokens
    """
    import uvicorn

    from flowtrail.service.config import DEFAULT_MAX_BODY_BYTES

    db, default_blobs = _database(state, db_url)
    settings = state.settings()
    blobs = blobs_url or default_blobs
    if blobs is None:
        if settings.datastore == "service":
            raise InvalidArgument(
                "the datastore of the resolved settings is a service: pass --blobs URL"
            )
        blobs = settings.blob_url
    auth, token_source = _tokens(tokens_file, settings.home)
    if auth is None and not is_loopback(host) and not insecure:
        raise InvalidArgument(
            f"no tokens: binding {host} would let anyone who reaches it read and write the "
            "history; create tokens (flowtrail token create --role write) and pass --tokens "
            "FILE, bind 127.0.0.1, or pass --insecure"
        )
    _check_port(host, port)
    shown = _check_schema(db, migrate=not no_migrate)
    launch = Launch(
        db=db,
        blobs=str(blobs),
        tokens=tuple(
            (e.name, str(e.role), e.digest) for e in (auth.entries.values() if auth else ())
        ),
        max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES,
    )
    echo = click.echo
    echo(f"flowtrail service: {shown}, blobs in {mask_password(str(blobs))}", err=True)
    if auth is None and is_loopback(host):
        echo("no tokens: only this machine can connect", err=True)
    elif auth is None:
        echo(f"no tokens and --insecure: anyone who reaches {host} can read and write", err=True)
    else:
        echo(f"{_count(len(auth), 'token')} from {token_source}", err=True)
    echo(f"listening on http://{host}:{port} ({_count(workers, 'worker')})", err=True)
    with _shared_metrics(workers) as metrics_dir:
        if metrics_dir is not None:
            echo(f"metrics of the workers are added up through {metrics_dir}", err=True)
        os.environ[LAUNCH_ENV] = replace(launch, metrics_dir=metrics_dir).dumps()
        uvicorn.run(
            _FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_config=_log_config(),
            timeout_graceful_shutdown=30,
            server_header=False,
        )


def _check_port(host: str, port: int) -> None:
    """Refuse, as one line, an address this machine cannot listen on (a port taken by
    another server, a host that is not one of its addresses), before anything is started:
    uvicorn would report it in a log line and exit 3."""
    if port == 0:
        return  # any free port
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        raise InvalidArgument(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pass another --port "
            "(or --host)"
        ) from None


@contextmanager
def _shared_metrics(workers: int) -> Iterator[str | None]:
    """A fresh private folder named in ``PROMETHEUS_MULTIPROC_DIR`` for several workers
    (``None`` for one: it counts in its own registry), removed at the end.

    uvicorn spawns its workers as new interpreters, which import prometheus-client after
    this sets the variable; this process serves nothing, so its own import does not matter.
    """
    from flowtrail.service.metrics import MULTIPROCESS_ENV

    if workers <= 1:
        yield None
        return
    folder = tempfile.mkdtemp(prefix="flowtrail-metrics-")
    before = os.environ.get(MULTIPROCESS_ENV)
    os.environ[MULTIPROCESS_ENV] = folder
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop(MULTIPROCESS_ENV, None)
        else:
            os.environ[MULTIPROCESS_ENV] = before
        shutil.rmtree(folder, ignore_errors=True)
