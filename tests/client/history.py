"""Histories for the client tests, recorded the way the runtime records a real run: one
``create_run``, then one batch per task (steps, task, attempts, system and user metadata,
artifacts in the blob store, log lines, attempt ends, task status), then the run's status."""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flowtrail.blobs import BlobStore, serialize
from flowtrail.model import (
    AttemptEnd,
    Batch,
    CodePackage,
    ExceptionInfo,
    ForeachFrame,
    NewArtifact,
    NewAttempt,
    NewLogLine,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    Pathspec,
    Status,
    StepKind,
    TaskStatusChange,
    TriggerEvent,
)
from flowtrail.store import MetadataStore

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FLOW_SOURCE = "from helpers import alphas\n\nclass TrainFlow:\n    pass\n"
HELPER_SOURCE = "alphas = [0.1, 1.0, 10.0]\n"


def code_package(blobs: BlobStore) -> CodePackage:
    """A gzip tarball of ``flow.py`` and ``helpers.py``, stored in the blob store."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in (("flow.py", FLOW_SOURCE), ("helpers.py", HELPER_SOURCE)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    sha = blobs.put(buffer.getvalue()).sha
    return CodePackage(sha, "flow.py", {"files": ["flow.py", "helpers.py"]})


@dataclass
class Recorder:
    """Records one run task by task, with a clock that moves one second per record."""

    store: MetadataStore
    blobs: BlobStore
    run: Pathspec
    clock: datetime
    user: str
    steps: set[str] = field(default_factory=set)
    next_task: int = 1

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def task(
        self,
        step: str,
        kind: StepKind,
        next_steps: Sequence[str],
        artifacts: Mapping[str, Any],
        *,
        foreach: ForeachFrame | None = None,
        parents: Sequence[Pathspec] = (),
        failures: int = 0,
        final: Status = Status.SUCCEEDED,
        stdout: Sequence[str] = (),
        user_metadata: Mapping[str, Any] | None = None,
        origin: Pathspec | None = None,
    ) -> Pathspec:
        """Record a task whose first ``failures`` attempts fail; the last ends ``final``."""
        step_spec = self.run.child(step)
        task = step_spec.child(str(self.next_task))
        self.next_task += 1
        steps = ()
        if step not in self.steps:
            self.steps.add(step)
            steps = (NewStep(step_spec, kind, tuple(next_steps), self.tick()),)
        new_task = NewTask(
            task,
            foreach_stack=() if foreach is None else (foreach,),
            parent_tasks=tuple(parents),
            origin_pathspec=origin,
            created_at=self.tick(),
        )
        attempts, metadata, logs, ends, rows = [], [], [], [], []
        for number in range(failures + 1):
            started = self.tick()
            failed = number < failures or final is Status.FAILED
            attempts.append(NewAttempt(task, number, "host-1", 4242, started))
            system = {
                "attempt": number,
                "runtime": "local",
                "host": "host-1",
                "pid": 4242,
                "python_version": "3.11.7",
                "started_at": started.isoformat(),
                "retry": number > 0,
            }
            for name, value in system.items():
                metadata.append(NewMetadata(task, name, value, "system", number, started))
            for name, value in (user_metadata or {}).items():
                metadata.append(NewMetadata(task, name, value, "user", number, started))
            lines = [*stdout, f"attempt {number}"]
            for seq, text in enumerate(lines):
                logs.append(NewLogLine(task, number, "stdout", seq, text, self.tick()))
            error = None
            if failed:
                error = ExceptionInfo("ValueError", f"attempt {number} failed", "Traceback ...")
                logs.append(NewLogLine(task, number, "stderr", 0, "ValueError: boom", started))
            else:
                for name, value in artifacts.items():
                    blob = serialize(value)
                    ref = self.blobs.put(blob.data)
                    rows.append(
                        NewArtifact(
                            task.child(name),
                            number,
                            ref.sha,
                            ref.size,
                            blob.python_type,
                            blob.encoding,
                            blob.scalar,
                            self.tick(),
                        )
                    )
            finished = self.tick()
            metadata.append(
                NewMetadata(task, "finished_at", finished.isoformat(), "system", number, finished)
            )
            status = Status.FAILED if failed else Status.SUCCEEDED
            ends.append(AttemptEnd(task, number, status, error, finished))
        self.store.write_batch(
            Batch(
                uuid.uuid4().hex,
                self.run,
                steps=steps,
                tasks=(new_task,),
                attempts=tuple(attempts),
                metadata=tuple(metadata),
                artifacts=tuple(rows),
                log_lines=tuple(logs),
                attempt_ends=tuple(ends),
                task_statuses=(TaskStatusChange(task, final, self.clock),),
                heartbeat=True,
            )
        )
        return task


def record_train_flow(
    store: MetadataStore,
    blobs: BlobStore,
    *,
    flow: str = "TrainFlow",
    user: str = "alice",
    tags: Sequence[str] = (),
    created_at: datetime = T0,
    fail_train: bool = False,
    trigger: Sequence[TriggerEvent] = (),
    origin_run_id: str | None = None,
) -> Pathspec:
    """Record TrainFlow: start, a foreach ``train`` over three alphas (the second retried
    once), ``join``, ``end``. With ``fail_train`` the third train task fails and so does the
    run. Returns the run's pathspec."""
    system_tags = {
        f"user:{user}",
        "runtime:local",
        "python_version:3.11.7",
        "flowtrail_version:0.1.0",
        f"date:{created_at:%Y-%m-%d}",
    }
    if origin_run_id is not None:
        system_tags |= {f"origin-run:{origin_run_id}", "resume-step:train"}
    alphas = [0.1, 1.0, 10.0]
    run = store.create_run(
        NewRun(
            flow,
            user=user,
            parameters={"epochs": 5},
            tags=frozenset(tags),
            system_tags=frozenset(system_tags),
            origin_run_id=origin_run_id,
            trigger=tuple(trigger),
            code_package=code_package(blobs),
            created_at=created_at,
        )
    ).pathspec
    rec = Recorder(store, blobs, run, created_at, user)
    origin = None if origin_run_id is None else Pathspec(flow, origin_run_id, "start", "1")
    start = rec.task(
        "start",
        StepKind.FOREACH,
        ["train"],
        {"epochs": 5, "alphas": alphas, "dataset": "iris"},
        stdout=["loading iris"],
        origin=origin,
    )
    trained = []
    for index, alpha in enumerate(alphas):
        last = fail_train and index == 2
        trained.append(
            rec.task(
                "train",
                StepKind.LINEAR,
                ["join"],
                {"alpha": alpha, "loss": round(alpha / 10, 3), "model": {"w": [alpha] * 3}},
                foreach=ForeachFrame("start", index, 3),
                parents=[start],
                failures=1 if index == 1 else 0,
                final=Status.FAILED if last else Status.SUCCEEDED,
                user_metadata={"accuracy": 1 - alpha / 100},
            )
        )
        if last:
            store.set_run_status(run, Status.FAILED, at=rec.tick())
            return run
    join = rec.task("join", StepKind.JOIN, ["end"], {"best_alpha": 0.1}, parents=trained)
    rec.task("end", StepKind.END, [], {"accuracy": 0.97, "summary": "best 0.1"}, parents=[join])
    store.set_run_status(run, Status.SUCCEEDED, at=rec.tick())
    return run
