"""What the commands say about each client object, as plain dicts with stable keys.

The same dict feeds both outputs: ``--output json`` prints it (times become ISO 8601 text), and
the tables pick their columns from it. Keys never disappear: a missing value is ``None`` and an
empty collection is ``[]`` or ``{}``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from flowtrail.cli.output import duration_seconds
from flowtrail.client import DataArtifact, Flow, Metadata, Run, Step, Task
from flowtrail.client.base import ClientObject
from flowtrail.model import MetadataValue

__all__ = [
    "describe",
    "describe_artifact",
    "describe_flow",
    "describe_run",
    "describe_step",
    "describe_task",
    "metadata_entries",
    "metadata_values",
    "run_summary",
    "task_summary",
]


def metadata_values(values: Mapping[str, MetadataValue]) -> dict[str, dict[str, Any]]:
    """Typed metadata values by name as ``{"type": ..., "value": ...}`` dicts, sorted by name."""
    return {name: {"type": v.type.value, "value": v.value} for name, v in sorted(values.items())}


def metadata_entries(entries: list[Metadata]) -> list[dict[str, Any]]:
    """Metadata entries of a run or a task, in their order, each as a dict: ``name``,
    ``value``, ``type``, ``value_type``, ``attempt`` and ``created_at``."""
    return [
        {
            "name": entry.name,
            "value": entry.value,
            "type": entry.type,
            "value_type": entry.value_type.value,
            "attempt": entry.attempt,
            "created_at": entry.created_at,
        }
        for entry in entries
    ]


def run_summary(run: Run) -> dict[str, Any]:
    """A run as a listing shows it: ``pathspec``, ``flow``, ``run_id``, ``status``, ``user``,
    ``created_at`` (when it started), ``finished_at``, ``duration_seconds`` (``None`` until it
    ends), ``user_tags`` and ``system_tags`` (sorted lists)."""
    status = run.status  # read first: a run that ends meanwhile then has its finished_at
    created, finished = run.created_at, run.finished_at
    return {
        "pathspec": run.pathspec,
        "flow": run.path_components[0],
        "run_id": run.id,
        "status": status.value,
        "user": run.user,
        "created_at": created,
        "finished_at": finished,
        "duration_seconds": duration_seconds(created, finished),
        "user_tags": sorted(run.user_tags),
        "system_tags": sorted(run.system_tags),
    }


def task_summary(task: Task) -> dict[str, Any]:
    """A task as a step's listing shows it: ``pathspec``, ``task_id``, ``index``, ``status``,
    ``attempt`` (the attempt shown), ``created_at``, ``finished_at``, ``duration_seconds``."""
    status = task.status
    created, finished = task.created_at, task.finished_at
    return {
        "pathspec": task.pathspec,
        "task_id": task.id,
        "index": task.index,
        "status": status.value,
        "attempt": task.current_attempt,
        "created_at": created,
        "finished_at": finished,
        "duration_seconds": duration_seconds(created, finished),
    }


def artifact_summary(artifact: DataArtifact) -> dict[str, Any]:
    """An artifact without its value: ``name``, ``pathspec``, ``python_type``, ``encoding``,
    ``size`` (serialised bytes), ``sha``, ``attempt``, ``created_at`` and ``value`` (the
    value kept for search, for small scalars; else ``None``)."""
    return {
        "name": artifact.id,
        "pathspec": artifact.pathspec,
        "python_type": artifact.python_type,
        "encoding": artifact.encoding,
        "size": artifact.size,
        "sha": artifact.sha,
        "attempt": artifact.attempt,
        "created_at": artifact.created_at,
        "value": artifact.value,
    }


def describe_flow(flow: Flow) -> dict[str, Any]:
    """``type`` (``"flow"``), ``pathspec``, ``flow``, ``created_at``, ``metadata`` (the flow
    metadata of the latest run's definition, as :func:`metadata_values`), and ``latest_run``
    and ``latest_successful_run`` as :func:`run_summary` dicts (or ``None``)."""
    latest, successful = flow.latest_run, flow.latest_successful_run
    return {
        "type": "flow",
        "pathspec": flow.pathspec,
        "flow": flow.id,
        "created_at": flow.created_at,
        "metadata": metadata_values(flow.metadata),
        "latest_run": None if latest is None else run_summary(latest),
        "latest_successful_run": None if successful is None else run_summary(successful),
    }


def describe_run(run: Run) -> dict[str, Any]:
    """``type`` (``"run"``), the :func:`run_summary` keys, ``parameters``, ``origin_pathspec``
    (for a resumed run), ``trigger`` (its events), ``code`` (``script_name`` and ``sha``, or
    ``None``), ``flow_metadata`` (of the definition it ran with, as :func:`metadata_values`),
    ``metadata`` (the run's own entries, oldest first, as :func:`metadata_entries`),
    ``metadata_dict`` (the latest value of each name), ``steps`` (each with ``step``,
    ``pathspec``, ``kind``, ``next_steps``, ``tasks`` (how many), ``task_statuses`` (how many
    in each status), ``created_at`` and ``finished_at``), and ``artifacts``: those of the end
    task (what ``Run.data`` holds)."""
    summary = run_summary(run)
    trigger, code, end, entries = run.trigger, run.code, run.end_task, run.metadata
    steps = []
    for step in run:
        tasks = list(step)
        # A task not settled is read again for its status: once, and its end asked only of
        # those that have ended (a running task's end is None).
        statuses = [task.status for task in tasks]
        ended = [
            task.finished_at
            for task, status in zip(tasks, statuses, strict=True)
            if status.finished and task.finished_at is not None
        ]
        steps.append(
            {
                "step": step.id,
                "pathspec": step.pathspec,
                "kind": step.kind.value,
                "next_steps": list(step.next_steps),
                "tasks": len(tasks),
                "task_statuses": dict(sorted(Counter(s.value for s in statuses).items())),
                "created_at": step.created_at,
                "finished_at": max(ended) if ended and len(ended) == len(tasks) else None,
            }
        )
    return {
        "type": "run",
        **summary,
        "parameters": dict(run.parameters),
        "origin_pathspec": run.origin_pathspec,
        "trigger": []
        if trigger is None
        else [
            {"name": e.name, "id": e.id, "type": e.type, "timestamp": e.timestamp}
            for e in trigger.events
        ],
        "code": None if code is None else {"script_name": code.script_name, "sha": code.sha},
        "flow_metadata": metadata_values(run.flow_metadata),
        "metadata": metadata_entries(entries),
        "metadata_dict": {entry.name: entry.value for entry in entries},
        "steps": steps,
        "artifacts": [] if end is None else [artifact_summary(a) for a in end.artifacts],
    }


def describe_step(step: Step) -> dict[str, Any]:
    """``type`` (``"step"``), ``pathspec``, ``step``, ``kind``, ``next_steps``, ``created_at``,
    ``finished_at`` (when its last task ended; ``None`` while one runs), ``user_tags``,
    ``system_tags`` and ``tasks`` (:func:`task_summary` dicts, oldest first)."""
    tasks = [task_summary(task) for task in step]
    ended = [task["finished_at"] for task in tasks if task["finished_at"] is not None]
    return {
        "type": "step",
        "pathspec": step.pathspec,
        "step": step.id,
        "kind": step.kind.value,
        "next_steps": list(step.next_steps),
        "created_at": step.created_at,
        "finished_at": max(ended) if ended and len(ended) == len(tasks) else None,
        "user_tags": sorted(step.user_tags),
        "system_tags": sorted(step.system_tags),
        "tasks": tasks,
    }


def describe_task(task: Task) -> dict[str, Any]:
    """``type`` (``"task"``), the :func:`task_summary` keys, ``started_at`` (when the
    attempt shown started; ``None`` before it started or for a task a resume cloned; the
    duration is then that attempt's), ``step``, ``foreach_stack``,
    ``parent_tasks`` (pathspecs), ``origin_pathspec``, ``exception`` (``type``, ``message``,
    ``traceback``, or ``None``), ``user_tags``, ``system_tags``, ``metadata`` (entries of the
    attempt shown, oldest first: ``name``, ``value``, ``type``, ``value_type``, ``attempt``,
    ``created_at``) and ``artifacts`` (by name)."""
    summary = task_summary(task)
    started = task.started_at
    if started is not None:
        summary["duration_seconds"] = duration_seconds(started, summary["finished_at"])
    exception = task.exception
    return {
        "type": "task",
        **summary,
        "started_at": started,
        "step": task.path_components[2],
        "foreach_stack": [
            {"step": frame.step, "index": frame.index, "num_splits": frame.num_splits}
            for frame in task.foreach_stack
        ],
        "parent_tasks": [parent.pathspec for parent in task.parent_tasks],
        "origin_pathspec": task.origin_pathspec,
        "exception": None
        if exception is None
        else {
            "type": exception.type,
            "message": exception.message,
            "traceback": exception.traceback,
        },
        "user_tags": sorted(task.user_tags),
        "system_tags": sorted(task.system_tags),
        "metadata": metadata_entries(task.metadata),
        "artifacts": [artifact_summary(artifact) for artifact in task.artifacts],
    }


def describe_artifact(artifact: DataArtifact) -> dict[str, Any]:
    """``type`` (``"artifact"``), the artifact keys (``name``, ``pathspec``, ``python_type``,
    ``encoding``, ``size``, ``sha``, ``attempt``, ``created_at``, ``value``), ``task`` (its
    task's pathspec), ``origin_pathspec``, ``user_tags`` and ``system_tags``. The value itself
    is not read: ``flowtrail artifact get`` prints it."""
    return {
        "type": "artifact",
        **artifact_summary(artifact),
        "task": artifact.pathspec.rsplit("/", 1)[0],
        "origin_pathspec": artifact.origin_pathspec,
        "user_tags": sorted(artifact.user_tags),
        "system_tags": sorted(artifact.system_tags),
    }


def describe(obj: ClientObject) -> dict[str, Any]:
    """The description of a flow, run, step, task or artifact (``describe_*``)."""
    if isinstance(obj, Flow):
        return describe_flow(obj)
    if isinstance(obj, Run):
        return describe_run(obj)
    if isinstance(obj, Step):
        return describe_step(obj)
    if isinstance(obj, Task):
        return describe_task(obj)
    if isinstance(obj, DataArtifact):
        return describe_artifact(obj)
    raise TypeError(f"cannot describe {obj!r}")
