"""A warm worker process: it receives attempts over a pipe, runs their step, stores the
artifacts in the blob store and reports back. Its stdout and stderr go to the scheduler line
by line, with their times, while the step runs."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from contextlib import AbstractContextManager, nullcontext
from multiprocessing.connection import Connection
from typing import Any

from flowtrail.blobs import BlobStore, deserialize, open_blob_store, serialize
from flowtrail.errors import ArtifactError, InvalidFlow
from flowtrail.model import to_epoch_ms, utc_now
from flowtrail.runtime.calls import run_call
from flowtrail.runtime.current import TaskContext, current
from flowtrail.runtime.graph import FlowGraph, Transition
from flowtrail.runtime.messages import (
    ArtifactRef,
    CallOrder,
    LogChunk,
    MetadataNote,
    RunContext,
    TaskOrder,
    TaskResult,
    View,
    exception_info,
    pickled_exception,
)
from flowtrail.runtime.output import attempt_output, receive_fds
from flowtrail.runtime.spec import FlowSpec, Inputs, _TaskState

__all__ = ["run_worker"]

_CACHE_BYTES = 64 * 1024 * 1024


def now_ms() -> int:
    """The time as epoch milliseconds."""
    return to_epoch_ms(utc_now())


class _Channel:
    """The pipe to the scheduler, shared by the step's threads (log lines) and the loop."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.key: tuple[str, int] | None = None

    def send(self, message: object) -> None:
        with self.lock:
            self.conn.send(message)


class _LogStream(io.TextIOBase):
    """Stands in for ``sys.stdout`` / ``sys.stderr``: complete lines go to the scheduler."""

    def __init__(self, channel: _Channel, stream: str) -> None:
        super().__init__()
        self._channel = channel
        self._stream = stream
        self._partial = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._partial += text
            if "\n" not in self._partial:
                return len(text)
            *lines, self._partial = self._partial.split("\n")
        self._send(lines)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            self._send([rest])

    def _send(self, lines: list[str]) -> None:
        key = self._channel.key
        if key is None:
            return
        stamp = now_ms()
        self._channel.send(LogChunk(key, tuple((self._stream, line, stamp) for line in lines)))


class _Loader:
    """Reads artifacts from the blob store, keeping recent bytes (never objects: a step may
    change what it read)."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def __call__(self, ref: ArtifactRef) -> Any:
        data = self._cache.get(ref.sha)
        if data is None:
            data = self.blobs.get(ref.sha)
            self._cache[ref.sha] = data
            self._size += len(data)
            while self._size > _CACHE_BYTES and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._size -= len(old)
        else:
            self._cache.move_to_end(ref.sha)
        return deserialize(data, ref.encoding)


def run_worker(
    conn: Connection,
    flow_cls: type[FlowSpec] | None,
    graph: FlowGraph | None,
    run: RunContext,
    *,
    fds_attached: bool = False,
) -> None:
    """The worker's loop; returns when the scheduler sends ``None`` or closes the pipe.

    ``flow_cls`` and ``graph`` are ``None`` for function tasks (``flowtrail.workflow``),
    whose orders carry their function. With ``fds_attached`` the worker's file descriptors
    1 and 2 are pipes the scheduler reads (:mod:`flowtrail.runtime.output`); without, only
    what Python code writes to ``sys.stdout`` / ``sys.stderr`` is captured, over ``conn``."""
    # Ctrl-C reaches the whole process group: only the scheduler decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    channel = _Channel(conn)
    if not fds_attached:
        sys.stdout = _LogStream(channel, "stdout")
        sys.stderr = _LogStream(channel, "stderr")
    blobs = open_blob_store(run.blob_url, **run.blob_options)
    load = _Loader(blobs)
    while True:
        try:
            order = conn.recv()
        except (EOFError, OSError):
            return
        if order is None:
            return
        channel.key = order.key
        # With fds attached, the order comes with the attempt's own output pipes.
        output: AbstractContextManager[None] = (
            attempt_output(receive_fds(conn, 2)) if fds_attached else nullcontext()
        )
        with output:
            if isinstance(order, CallOrder):
                result = run_call(order, blobs, load)
            else:
                assert flow_cls is not None, "a step order needs its flow"
                assert graph is not None, "a step order needs its graph"
                result = _attempt(order, flow_cls, graph, run, blobs, load, channel)
            if fds_attached:
                _write_traceback(result)
            _flush()
        channel.key = None
        channel.send(result)


def _write_traceback(result: TaskResult) -> None:
    """A failed attempt's traceback ends its stderr, as an uncaught exception ends a script's
    (its log then tells the whole story; ``exception`` still has it as a record)."""
    if result.ok or result.exception is None or not result.exception.traceback:
        return
    _flush()  # what the step wrote comes first
    data = result.exception.traceback.encode("utf-8", "backslashreplace")
    with contextlib.suppress(OSError):  # to the descriptor: the step may have replaced sys.stderr
        while data:
            data = data[os.write(2, data) :]


def _flush() -> None:
    """The attempt's last output goes out before its result (a step may have replaced the
    streams, or closed them)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _die_with_parent() -> None:
    """A worker outliving its scheduler would run on with nobody to record it: it exits
    when the scheduler is gone (at once on Linux, within a second elsewhere)."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:
            os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="flowtrail-parent-watch", daemon=True).start()


def _attempt(
    order: TaskOrder,
    flow_cls: type[FlowSpec],
    graph: FlowGraph,
    run: RunContext,
    blobs: BlobStore,
    load: _Loader,
    channel: _Channel,
) -> TaskResult:
    started = now_ms()
    node = graph[order.step]
    context = TaskContext(
        run,
        order.step,
        order.task_id,
        order.attempt,
        emit=lambda entry: channel.send(MetadataNote(order.key, (entry,))),
    )
    flow = flow_cls.__new__(flow_cls)
    state = _TaskState(order.step, order.view, load, run.parameters)
    state.index = order.index
    state.input_ref = order.foreach
    flow._flowtrail_enter(state)
    current._enter(context)
    try:
        method = getattr(flow, order.step)
        if order.inputs is not None:
            items = []
            for step_name, view in order.inputs:
                item = flow_cls.__new__(flow_cls)
                item._flowtrail_enter(
                    _TaskState(step_name, view, load, run.parameters, read_only=True)
                )
                items.append(item)
            method(Inputs(items))
        else:
            method()
        splits = _check_next(node.name, flow, state, graph)
        view = _store(order.step, flow, state, blobs)
        return TaskResult(
            order.key,
            True,
            view,
            splits,
            started_ms=started,
            finished_ms=now_ms(),
        )
    except BaseException as exc:
        return TaskResult(
            order.key,
            False,
            _kept(order.step, flow, state, blobs),
            exception=exception_info(exc),
            exception_blob=pickled_exception(exc),
            started_ms=started,
            finished_ms=now_ms(),
        )
    finally:
        current._enter(None)


def _check_next(step_name: str, flow: FlowSpec, state: _TaskState, graph: FlowGraph) -> int | None:
    node = graph[step_name]
    if node.transition is Transition.NONE:
        return None
    if state.next_call is None:
        raise InvalidFlow(f"{node.where}: the step returned without calling self.next(...)")
    targets, foreach = state.next_call
    if targets != node.next_steps or foreach != node.foreach_var:
        raise InvalidFlow(
            f"{node.where}: self.next({', '.join(targets)}) at run time differs from the "
            f"graph's self.next({', '.join(node.next_steps)})"
        )
    if node.transition is not Transition.FOREACH:
        return None
    var = node.foreach_var
    assert var is not None
    if var not in state.view and var not in state.set_names:
        raise InvalidFlow(f"{node.where}: foreach over {var!r}: the step has no artifact {var!r}")
    items = getattr(flow, var)
    try:
        count = len(list(items))
    except TypeError as exc:
        raise InvalidFlow(
            f"{node.where}: foreach over {var!r}: {type(items).__name__} is not iterable"
        ) from exc
    if count == 0:
        raise InvalidFlow(f"{node.where}: foreach over {var!r}: it has no items")
    return count


def _kept(step_name: str, flow: FlowSpec, state: _TaskState, blobs: BlobStore) -> View:
    """What a failed attempt keeps, as Metaflow does: the artifacts it inherited and those
    it had set when it failed, but for the ones that cannot be stored."""
    try:
        return _store(step_name, flow, state, blobs, lenient=True)
    except Exception:  # the blob store failed too: the inherited ones at least
        return dict(state.view)


def _store(
    step_name: str, flow: FlowSpec, state: _TaskState, blobs: BlobStore, *, lenient: bool = False
) -> View:
    view: View = dict(state.view)
    values = flow.__dict__
    names = set(state.set_names)
    # A value read and changed in place (a list appended to) is a new value too.
    names.update(n for n in state.loaded if n in values)
    for name in sorted(names):
        if lenient and name not in values:
            continue  # deleted after it was set
        value = values[name]
        try:
            packed = serialize(value)
        except Exception as exc:
            if lenient:
                continue
            raise ArtifactError(
                f"step {step_name!r}: artifact {name!r} cannot be serialised: "
                f"{type(exc).__name__}: {exc}",
                details={"step": step_name, "artifact": name},
            ) from exc
        # Content addressing makes an unchanged value the same blob: nothing new is stored.
        ref = blobs.put(packed.data)
        view[name] = ArtifactRef(
            ref.sha, len(packed.data), packed.python_type, packed.encoding.value, packed.scalar
        )
    return view


def exit_now(code: int = 0) -> None:
    """Leave the worker without running the parent's exit handlers (it was forked)."""
    _flush()
    os._exit(code)
