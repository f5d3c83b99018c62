"""Executors run attempts. The local one keeps warm worker processes, so a task costs a pipe
round trip, not a Python start-up; a worker that dies is reported as its attempt's failure,
and the next attempt gets a fresh worker."""

from __future__ import annotations

import abc
import contextlib
import multiprocessing
import os
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from flowtrail.errors import InvalidArgument
from flowtrail.runtime.graph import FlowGraph
from flowtrail.runtime.messages import (
    CallOrder,
    LogChunk,
    MetadataNote,
    RunContext,
    TaskOrder,
    TaskResult,
)
from flowtrail.runtime.output import OutputPipes, send_fds

__all__ = ["AttemptLost", "Event", "Executor", "LocalExecutor"]


@dataclass(frozen=True, slots=True)
class AttemptLost:
    """The worker running an attempt died before it reported; ``reason`` says how."""

    key: tuple[str, int]
    reason: str


Event = LogChunk | MetadataNote | TaskResult | AttemptLost


class Executor(abc.ABC):
    """Runs attempts somewhere and reports what happens to them.

    The scheduler calls :meth:`start` once, then :meth:`submit` while :attr:`free` is
    positive, :meth:`poll` in its loop, :meth:`stop` for an attempt it gives up on (a timeout,
    a cancelled run), and :meth:`shutdown` at the end. Events of one attempt arrive in order:
    log chunks, then exactly one :class:`TaskResult` or :class:`AttemptLost` — except after
    :meth:`stop`, after which only log chunks follow. Log chunks may follow an attempt's end:
    what a process the attempt left behind writes later, while the run goes on.
    """

    #: The name recorded in the ``runtime:`` system tag and the ``runtime`` metadata.
    name: str = "executor"

    @abc.abstractmethod
    def start(self, flow_cls: type | None, graph: FlowGraph | None, run: RunContext) -> None:
        """Get ready to run attempts of one run (of function tasks, when ``flow_cls`` and
        ``graph`` are ``None``: their orders are :class:`CallOrder` s)."""

    @property
    @abc.abstractmethod
    def free(self) -> int:
        """How many more attempts :meth:`submit` accepts now."""

    @abc.abstractmethod
    def submit(self, order: TaskOrder | CallOrder) -> int | None:
        """Start an attempt; returns the pid of the process running it, if there is one."""

    @abc.abstractmethod
    def poll(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` seconds for events and return those that arrived."""

    @abc.abstractmethod
    def stop(self, key: tuple[str, int]) -> list[LogChunk | MetadataNote]:
        """Stop a running attempt at once; returns what it sent that was not reported yet
        (its last log lines and metadata). Nothing more is reported for it."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Stop every worker and release what the executor holds."""


class _Worker:
    __slots__ = ("attempt_output", "conn", "key", "output", "process")

    def __init__(self, process: BaseProcess, conn: Connection, output: OutputPipes | None) -> None:
        self.process = process
        self.conn = conn
        #: The worker's own stdout and stderr (what it writes outside attempts).
        self.output = output
        #: The pipes of the attempt it runs (fork only: see flowtrail.runtime.output).
        self.attempt_output: OutputPipes | None = None
        self.key: tuple[str, int] | None = None

    def pipes(self) -> list[OutputPipes]:
        return [p for p in (self.output, self.attempt_output) if p is not None]

    def read_output(self, events: list[Event], fd: int | None = None) -> None:
        """Lines the worker wrote to its stdout and stderr, as its attempt's log: those
        waiting on ``fd``, or with none, everything so far (before its attempt's end)."""
        lines = []
        for pipes in self.pipes():
            if fd is None:
                lines += pipes.drain()
            elif fd in pipes.streams:
                lines += pipes.read(fd)
        if lines and self.key is not None:
            events.append(LogChunk(self.key, tuple(lines)))


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "its worker stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"its worker process was killed by {name}"
    return f"its worker process exited with code {code}"


def _entry(
    conn: Connection,
    output: OutputPipes | None,
    others: list[int],
    flow_cls: type | None,
    graph: FlowGraph | None,
    run: RunContext,
) -> None:
    from flowtrail.runtime.output import attach_output
    from flowtrail.runtime.worker import exit_now, run_worker

    try:
        for fd in others:
            with contextlib.suppress(OSError):
                os.close(fd)
        if output is not None:
            attach_output(output)
        run_worker(conn, flow_cls, graph, run, fds_attached=output is not None)
    finally:
        exit_now(0)


class LocalExecutor(Executor):
    """A pool of warm worker processes on this machine (forked from the scheduler).

    Args:
        max_workers: The pool's size; by default the number of cores.
    """

    name = "local"

    def __init__(self, max_workers: int | None = None) -> None:
        size = max_workers if max_workers is not None else (os.cpu_count() or 1)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 1024:
            raise InvalidArgument(f"max_workers must be an int from 1 to 1024, got {size!r}")
        self.max_workers = size
        self._workers: list[_Worker] = []
        #: The pipes of ended attempts that a process they left behind still holds open.
        self._lingering: list[tuple[tuple[str, int], OutputPipes]] = []
        self._ctx: Any = None
        self._args: tuple[Any, ...] = ()

    def start(self, flow_cls: type | None, graph: FlowGraph | None, run: RunContext) -> None:
        methods = multiprocessing.get_all_start_methods()
        # fork keeps the flow class (even one defined in __main__ or a notebook) without
        # pickling it, and costs milliseconds.
        self._ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._args = (flow_cls, graph, run)

    @property
    def free(self) -> int:
        busy = sum(1 for w in self._workers if w.key is not None)
        return self.max_workers - busy

    def _spawn(self) -> _Worker:
        assert self._ctx is not None, "start() first"
        parent, child = self._ctx.Pipe(duplex=True)
        # A forked worker's file descriptors 1 and 2 become pipes read here (a spawned one,
        # where fork is missing, can only have its Python-level streams captured).
        try:
            output = OutputPipes() if self._ctx.get_start_method() == "fork" else None
        except BaseException:
            parent.close()
            child.close()
            raise
        # The new worker closes the other workers' output pipes it inherits: a process it
        # leaves behind must not keep another worker's pipe open.
        others = [fd for pipes in self._all_pipes() for fd in pipes.fds]
        process = self._ctx.Process(
            target=_entry,
            args=(child, output, others, *self._args),
            name="flowtrail-worker",
            daemon=True,
        )
        try:
            process.start()
        except BaseException:
            parent.close()
            if output is not None:
                output.close()
            raise
        finally:
            child.close()
        if output is not None:
            output.forked()
        worker = _Worker(process, parent, output)
        self._workers.append(worker)
        return worker

    def submit(self, order: TaskOrder | CallOrder) -> int | None:
        idle = next((w for w in self._workers if w.key is None), None)
        if idle is None:
            if len(self._workers) >= self.max_workers:
                raise InvalidArgument("submit() with no free worker: check free first")
            idle = self._spawn()
        idle.key = order.key
        pipes = OutputPipes() if idle.output is not None else None
        # A dead worker cannot take the order: poll() then reports the attempt lost.
        with contextlib.suppress(OSError, ValueError):
            idle.conn.send(order)
            if pipes is not None:
                send_fds(idle.conn, pipes.write_fds)
        if pipes is not None:
            pipes.forked()  # the worker holds the writing ends now
            idle.attempt_output = pipes
        return idle.process.pid

    def _all_pipes(self) -> list[OutputPipes]:
        return [p for w in self._workers for p in w.pipes()] + [p for _, p in self._lingering]

    def _retire(self, worker: _Worker) -> None:
        """Its attempt has ended and its pipes are drained: pipes a process the attempt
        left behind still holds are read on, for that attempt; the others are closed."""
        pipes, worker.attempt_output = worker.attempt_output, None
        if pipes is None:
            return
        if pipes.fds and worker.key is not None:
            self._lingering.append((worker.key, pipes))
        else:
            pipes.close()

    def _read_lingering(self, fd: int, events: list[Event]) -> None:
        for key, pipes in list(self._lingering):
            if fd in pipes.streams:
                lines = pipes.read(fd)
                if lines:
                    events.append(LogChunk(key, tuple(lines)))
                if not pipes.fds:  # every process that held them has closed them
                    pipes.close()
                    self._lingering.remove((key, pipes))
                return

    def poll(self, timeout: float) -> list[Event]:
        if not self._workers:
            return []
        by_handle: dict[Any, _Worker | None] = {
            fd: None for _, pipes in self._lingering for fd in pipes.fds
        }
        for worker in self._workers:
            by_handle[worker.conn] = worker
            by_handle[worker.process.sentinel] = worker
            for fd in (fd for pipes in worker.pipes() for fd in pipes.fds):
                by_handle[fd] = worker
        events: list[Event] = []
        dead: list[_Worker] = []
        for handle in wait(list(by_handle), timeout):
            owner = by_handle[handle]
            if owner is None:
                assert isinstance(handle, int)
                self._read_lingering(handle, events)
                continue
            if owner in dead:
                continue
            if handle is owner.conn:
                if not self._drain(owner, events):
                    dead.append(owner)
            elif isinstance(handle, int) and any(handle in p.streams for p in owner.pipes()):
                owner.read_output(events, handle)  # (a fork's sentinel is an int too)
        # A sentinel that wakes the wait is a worker gone, but a process the step forked
        # keeps the worker's pipes and sentinel open after it died: asking every worker's
        # exit status (waitpid) tells in either case, within a poll.
        dead += [w for w in self._workers if w not in dead and not w.process.is_alive()]
        for worker in dead:
            self._drain(worker, events)
            worker.read_output(events)  # its last words: a crash's message included
            worker.process.join(timeout=1)
            if worker.key is not None:
                events.append(AttemptLost(worker.key, _describe_exit(worker.process.exitcode)))
            self._forget(worker)
        return events

    def _drain(self, worker: _Worker, events: list[Event]) -> bool:
        """Read every message waiting; False when the pipe is closed (the worker is gone)."""
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                if isinstance(message, TaskResult):
                    # Written before the result was sent, so waiting in the pipes now.
                    worker.read_output(events)
                    self._retire(worker)
                    worker.key = None
                events.append(message)
        except (EOFError, OSError):
            return False
        return True

    def stop(self, key: tuple[str, int]) -> list[LogChunk | MetadataNote]:
        for worker in self._workers:
            if worker.key == key:
                worker.process.kill()
                worker.process.join(timeout=5)
                events: list[Event] = []
                self._drain(worker, events)
                worker.read_output(events)  # often the lines that say why it was slow
                self._forget(worker)
                return [
                    e for e in events if isinstance(e, LogChunk | MetadataNote) and e.key == key
                ]
        return []

    def _forget(self, worker: _Worker) -> None:
        self._retire(worker)
        worker.conn.close()
        if worker.output is not None:
            worker.output.close()
        if worker in self._workers:
            self._workers.remove(worker)

    def shutdown(self) -> None:
        for worker in list(self._workers):
            if worker.key is None:
                with contextlib.suppress(OSError, ValueError):
                    worker.conn.send(None)
            else:
                worker.process.kill()
        for worker in list(self._workers):
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=2)
            self._forget(worker)
        for _, pipes in self._lingering:
            pipes.close()  # the run is over: what is written from now on is nobody's log
        self._lingering.clear()
