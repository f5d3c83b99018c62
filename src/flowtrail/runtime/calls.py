"""A function task's attempt in a worker: unpickle the call, put the upstream outputs in its
arguments, call it, and store what it returns as the task's ``output`` artifact."""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from typing import Any

from flowtrail.blobs import BlobStore, serialize
from flowtrail.errors import ArtifactError
from flowtrail.model import to_epoch_ms, utc_now
from flowtrail.runtime.messages import (
    ArtifactRef,
    CallOrder,
    TaskResult,
    exception_info,
)

__all__ = ["OUTPUT", "run_call"]

#: The artifact holding a function task's return value.
OUTPUT = "output"


class _Unpickler(pickle.Unpickler):
    """Reads a call's payload; a persistent id is an upstream task whose output goes there."""

    def __init__(self, data: bytes, outputs: Callable[[str], Any]) -> None:
        super().__init__(io.BytesIO(data))
        self._outputs = outputs

    def persistent_load(self, pid: Any) -> Any:
        return self._outputs(str(pid))


def _pickled(exc: BaseException) -> bytes | None:
    """The exception pickled by value (its class may live in a script or a function), or
    ``None`` when it cannot travel: it is then known by its recorded text."""
    import cloudpickle

    try:
        data: bytes = cloudpickle.dumps(exc, protocol=5)
        pickle.loads(data)
    except Exception:
        return None
    return data


def run_call(order: CallOrder, blobs: BlobStore, load: Callable[[ArtifactRef], Any]) -> TaskResult:
    """Run one attempt of a function task and report how it ended."""
    started = to_epoch_ms(utc_now())
    refs = dict(order.inputs)
    cache: dict[str, Any] = {}

    def output_of(task_id: str) -> Any:
        if task_id not in cache:
            cache[task_id] = load(refs[task_id])
        return cache[task_id]

    try:
        fn, args, kwargs = _Unpickler(order.payload, output_of).load()
        value = fn(*args, **kwargs)
        if order.wrap:
            value = (value, None)
        try:
            packed = serialize(value)
        except Exception as exc:
            raise ArtifactError(
                f"task {order.task_id!r}: its output cannot be serialised: "
                f"{type(exc).__name__}: {exc}",
                details={"task": order.task_id},
            ) from exc
        ref = blobs.put(packed.data)
        view = {
            OUTPUT: ArtifactRef(
                ref.sha, len(packed.data), packed.python_type, packed.encoding.value, packed.scalar
            )
        }
        return TaskResult(
            order.key, True, view, started_ms=started, finished_ms=to_epoch_ms(utc_now())
        )
    except BaseException as exc:
        return TaskResult(
            order.key,
            False,
            exception=exception_info(exc),
            exception_blob=_pickled(exc),
            started_ms=started,
            finished_ms=to_epoch_ms(utc_now()),
        )
