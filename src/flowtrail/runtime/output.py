"""What a worker writes to its file descriptors 1 and 2, read by the scheduler's side.

A worker's stdout and stderr are pipes to the process that started it, so everything a step
writes is its attempt's log: ``print``, a subprocess it starts, a C extension, a logging
handler made at import time, and the last words of a worker that crashes. The reading side
turns the bytes into timestamped lines.

Each attempt gets pipes of its own: the scheduler's side makes them and passes their writing
ends over the worker's connection (:func:`send_fds`), and the worker makes them its fds 1
and 2 for the attempt only (:func:`attempt_output`). A process the step leaves behind keeps
the attempt's pipes, so what it writes later is still that attempt's, never the next one's.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from multiprocessing import reduction
from multiprocessing.connection import Connection

from flowtrail.model import to_epoch_ms, utc_now

__all__ = ["OutputPipes", "attach_output", "attempt_output", "receive_fds", "send_fds"]

#: A line longer than this is recorded as pieces of at most this size, cut between
#: characters (a writer that never ends a line must not grow a buffer without bound, and a
#: line is recorded the same however the reads split it).
MAX_LINE_BYTES = 64 * 1024
_READ = 64 * 1024


class OutputPipes:
    """The reading ends of one worker's stdout and stderr pipes (made before it forks).

    After the fork, the parent calls :meth:`forked` and keeps :attr:`fds` (non-blocking, to
    wait on and read); the worker calls :func:`attach_output`.
    """

    def __init__(self) -> None:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self.streams = {out_r: "stdout", err_r: "stderr"}
        self.write_fds: tuple[int, ...] = (out_w, err_w)
        self._partial: dict[int, bytes] = {out_r: b"", err_r: b""}
        for fd in self.streams:
            os.set_blocking(fd, False)

    @property
    def fds(self) -> list[int]:
        """The reading ends still open."""
        return list(self.streams)

    def forked(self) -> None:
        """In the parent, after the fork: only the worker writes."""
        for fd in self.write_fds:
            os.close(fd)
        self.write_fds = ()

    def read(self, fd: int) -> list[tuple[str, str, int]]:
        """The complete lines waiting on ``fd``, as ``(stream, text, epoch_ms)``."""
        return self._read(fd, final=False)

    def drain(self) -> list[tuple[str, str, int]]:
        """Everything written so far on both pipes, a last unfinished line included: the
        worker wrote it before it reported its attempt's end, so it is all there."""
        lines: list[tuple[str, str, int]] = []
        for fd in list(self.streams):
            lines += self._read(fd, final=True)
        return lines

    def close(self) -> None:
        """Close the reading ends."""
        for fd in list(self.streams):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.streams.clear()
        for fd in self.write_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.write_fds = ()

    def _read(self, fd: int, *, final: bool) -> list[tuple[str, str, int]]:
        stream = self.streams.get(fd)
        if stream is None:
            return []
        data = self._partial[fd]
        closed = False
        while True:
            try:
                chunk = os.read(fd, _READ)
            except BlockingIOError:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
            if not final:
                break  # one read per wake-up: the scheduler has other pipes to serve
        *ended, rest = data.split(b"\n")
        complete = [piece for line in ended for piece in _pieces(line)]
        *cut_off, rest = _pieces(rest)  # the unfinished line keeps at most the limit
        complete += cut_off
        if (final or closed) and rest:
            complete.append(rest)
            rest = b""
        self._partial[fd] = rest
        if closed:
            del self.streams[fd]
            del self._partial[fd]
            with contextlib.suppress(OSError):
                os.close(fd)
        stamp = to_epoch_ms(utc_now())
        return [(stream, line.decode("utf-8", "replace"), stamp) for line in complete]


def _pieces(line: bytes) -> list[bytes]:
    """A line as recorded: whole, or cut into pieces of at most ``MAX_LINE_BYTES``."""
    pieces = []
    while len(line) > MAX_LINE_BYTES:
        cut = _character_boundary(line, MAX_LINE_BYTES)
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def _character_boundary(data: bytes, limit: int) -> int:
    """Where to cut ``data`` (longer than ``limit``) at most ``limit`` bytes in without
    splitting a UTF-8 character (each piece is decoded on its own): before the bytes that
    continue one (``0b10xxxxxx``), at most 3 of them; at ``limit`` for bytes that are not
    UTF-8."""
    cut = limit
    while cut > limit - 3 and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return cut if data[cut] & 0xC0 != 0x80 else limit


def attach_output(pipes: OutputPipes) -> None:
    """In the worker, after the fork: make the pipes its file descriptors 1 and 2, and
    ``sys.stdout`` / ``sys.stderr`` line-buffered text streams over them."""
    for fd in pipes.streams:
        os.close(fd)  # the reading ends are the parent's
    out_w, err_w = pipes.write_fds
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.close(out_w)
    os.close(err_w)
    sys.stdout = _text(1)
    sys.stderr = _text(2)


def send_fds(conn: Connection, fds: Sequence[int]) -> None:
    """Pass file descriptors to the process at the other end of ``conn`` (a Unix socket
    pair, as ``multiprocessing.Pipe`` makes on POSIX), after the message they go with."""
    with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        reduction.sendfds(sock, list(fds))


def receive_fds(conn: Connection, count: int) -> list[int]:
    """The ``count`` file descriptors :func:`send_fds` passed over ``conn``."""
    with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        return list(reduction.recvfds(sock, count))


@contextlib.contextmanager
def attempt_output(fds: Sequence[int]) -> Iterator[None]:
    """In the worker, for one attempt: the writing ends ``fds`` (stdout, stderr) become file
    descriptors 1 and 2; after it, 1 and 2 are the worker's own pipes again, so the
    attempt's pipes stay open only in processes the step left behind."""
    own = (os.dup(1), os.dup(2))
    try:
        _flush_streams()
        for fd, target in zip(fds, (1, 2), strict=True):
            os.dup2(fd, target)
            os.close(fd)
        yield
    finally:
        _flush_streams()
        for fd, target in zip(own, (1, 2), strict=True):
            os.dup2(fd, target)
            os.close(fd)


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _text(fd: int) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(fd, "w", closefd=False)),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )
