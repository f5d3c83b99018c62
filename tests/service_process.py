"""A real ``flowtrail service`` process for tests: started with the command line, waited for
on ``/ping``, stopped with a signal and started again on the same port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

# Starting Python, importing FastAPI and opening the database can take a while on a loaded
# machine: the wait is generous, nothing asserts it is short.
START_TIMEOUT = 120.0


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without flowtrail settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRAIL_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class ServiceProcess:
    """``python -m flowtrail service --db DB --blobs BLOBS --port PORT [args]``.

    Args:
        db: The database URL to serve.
        folder: Where the blobs and the log file go (and the working directory).
        args: More command-line arguments (``--tokens FILE``, ``--workers 2``).
        env: More environment variables.
    """

    def __init__(
        self,
        db: str,
        folder: Path,
        *args: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.db = db
        self.folder = folder
        self.args = args
        self.port = port or free_port()
        self.env = clean_env(**(env or {}))
        self.log_path = folder / "service.log"
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "flowtrail",
            "service",
            "--db",
            self.db,
            "--blobs",
            str(self.folder / "blobs"),
            "--port",
            str(self.port),
            *self.args,
        ]

    def start(self, *, wait: bool = True) -> ServiceProcess:
        """Start the process (its output appended to :attr:`log_path`) and wait for /ping."""
        assert self.process is None or self.process.poll() is not None, "already running"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until ``/ping`` answers 200.

        Raises:
            AssertionError: the process ended, or did not answer in ``timeout`` seconds
                (the message holds its log).
        """
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the service exited ({self.process.returncode}):\n{self.log}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the service did not answer /ping in {timeout:g}s:\n{self.log}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send ``sig`` and wait for the process to end; returns its exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def running_service(
    db: str, folder: Path, *args: str, **kwargs: object
) -> Iterator[ServiceProcess]:
    """A started :class:`ServiceProcess`, stopped (SIGTERM) at the end."""
    service = ServiceProcess(db, folder, *args, **kwargs)  # type: ignore[arg-type]
    service.start()
    try:
        yield service
    finally:
        service.stop()
