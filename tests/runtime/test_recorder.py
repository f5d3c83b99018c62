"""The recorder holds batches while the store is unavailable and sends them, in order and
once each, when it is back; it gives up with a clear message after its limit."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from flowtrail.errors import FlowtrailError, StoreUnavailable
from flowtrail.model import (
    Batch,
    BatchResult,
    NewAttempt,
    NewLogLine,
    NewRun,
    NewStep,
    NewTask,
    Pathspec,
    Status,
)
from flowtrail.runtime.recorder import Recorder
from flowtrail.store import SqlStore
from flowtrail.store.sql import create_engine, upgrade


class FlakyStore(SqlStore):
    """A real SQLite store whose ``write_batch`` fails while ``down`` is set, as a service
    being restarted would; ``lose_reply`` applies a batch and then fails, as a reply lost
    to a timeout would."""

    def __init__(self) -> None:
        engine = create_engine("sqlite://")
        upgrade(engine)
        super().__init__(engine)
        self.down = False
        self.lose_reply = False
        self.calls: list[str] = []

    def write_batch(self, batch: Batch) -> BatchResult:
        self.calls.append(batch.batch_id)
        if self.down:
            raise StoreUnavailable("the service at http://127.0.0.1:1 does not answer")
        result = super().write_batch(batch)
        if self.lose_reply:
            self.lose_reply = False
            raise StoreUnavailable("read timed out")
        return result


RUN = Pathspec("F", "1")
STEP = Pathspec("F", "1", "start")
TASK = Pathspec("F", "1", "start", "1")


def _store() -> FlakyStore:
    store = FlakyStore()
    store.create_run(NewRun(flow_name="F", run_id="1", user="tester"))
    return store


def _line(i: int) -> NewLogLine:
    return NewLogLine(TASK, 0, "stdout", i, f"line {i}", datetime.now(UTC))


def _lines(store: FlakyStore) -> list[str]:
    return [line.text for line in store.read_log_lines(TASK, attempt=0, stream="stdout")]


def test_batches_held_while_the_store_is_away_arrive_in_order_once_it_is_back() -> None:
    store = _store()
    recorder = Recorder(store, RUN, retry_for=60)
    recorder.step(NewStep(STEP))
    recorder.task(NewTask(TASK))
    recorder.attempt(NewAttempt(TASK, 0))
    recorder.flush()
    store.down = True
    recorder.log_lines([_line(0)])
    recorder.flush()  # held, the run goes on
    recorder.log_lines([_line(1)])
    recorder.flush()
    assert recorder.held == 2
    store.down = False
    recorder.flush(Status.SUCCEEDED, wait=True)
    assert recorder.held == 0
    assert _lines(store) == ["line 0", "line 1"]
    assert store.get_run(RUN).status is Status.SUCCEEDED


def test_a_batch_applied_before_its_reply_was_lost_is_not_applied_twice() -> None:
    store = _store()
    recorder = Recorder(store, RUN, retry_for=60)
    recorder.step(NewStep(STEP))
    recorder.task(NewTask(TASK))
    recorder.attempt(NewAttempt(TASK, 0))
    recorder.log_lines([_line(0)])
    store.lose_reply = True
    recorder.flush()
    assert recorder.held == 1
    recorder.flush(wait=True)
    assert store.calls[0] == store.calls[1]  # the same batch id, sent again
    assert _lines(store) == ["line 0"]


def test_the_recorder_gives_up_after_its_limit_with_a_message_saying_what_is_lost() -> None:
    store = _store()
    recorder = Recorder(store, RUN, retry_for=0.3)
    recorder.step(NewStep(STEP))
    recorder.task(NewTask(TASK))
    recorder.attempt(NewAttempt(TASK, 0))
    recorder.flush()
    store.down = True
    recorder.log_lines([_line(0), _line(1)])
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        recorder.flush(Status.SUCCEEDED, wait=True)
    assert time.monotonic() - started >= 0.3
    message = caught.value.message
    assert "unavailable for" in message
    assert "limit is 0.3 s" in message
    assert "2 records" in message
    assert "does not answer" in message


def test_a_refused_batch_is_dropped_so_the_runs_final_status_still_gets_through() -> None:
    store = _store()
    recorder = Recorder(store, RUN, retry_for=60)
    recorder.step(NewStep(STEP))
    recorder.task(NewTask(TASK))
    recorder.attempt(NewAttempt(TASK, 0))
    recorder.flush()
    recorder.attempt(NewAttempt(Pathspec("F", "1", "start", "404"), 0))  # no such task
    with pytest.raises(FlowtrailError):
        recorder.flush()
    assert recorder.held == 0
    recorder.flush(Status.FAILED, wait=True)
    assert store.get_run(RUN).status is Status.FAILED
