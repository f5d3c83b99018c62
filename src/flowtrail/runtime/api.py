"""``run_flow``: run a flow from Python (a notebook, a test) and get its run back."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from flowtrail.config import Settings, resolve_settings
from flowtrail.errors import InvalidArgument, InvalidFlow
from flowtrail.runtime.launch import RunRequest, launch
from flowtrail.runtime.progress import choose_progress
from flowtrail.runtime.spec import FlowSpec
from flowtrail.runtime.systags import image_from_env

__all__ = ["load_flow", "run_flow"]


def load_flow(path: str | os.PathLike[str]) -> type[FlowSpec]:
    """Import a flow file (without running its command line) and return its flow class.

    Raises:
        InvalidArgument: the file does not exist, or holds no flow or several.
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise InvalidArgument(f"no flow file at {str(path)!r}")
    name = "_flowtrail_flow_" + hashlib.sha1(str(file).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise InvalidArgument(f"cannot import {str(file)!r} as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # the flow's own helper modules, as `python flow.py` has
    spec.loader.exec_module(module)
    flows = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, FlowSpec)
        and value is not FlowSpec
        and value.__module__ == name
    ]
    if len(flows) != 1:
        found = ", ".join(f.__name__ for f in flows) or "none"
        raise InvalidFlow(f"{str(path)!r} must define exactly one flow class, found {found}")
    return flows[0]


def run_flow(
    flow: type[FlowSpec] | str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
    max_workers: int | None = None,
    run_id: str | None = None,
    *,
    settings: Settings | None = None,
    show_progress: bool | None = False,
    heartbeat_timeout: float = 120.0,
    partition: str | None = None,
    store_retry_seconds: float = 60.0,
) -> Any:
    """Run a flow to its end and return the run as a client ``Run``.

    Example::

        run = run_flow("flow.py", parameters={"alpha": 0.2}, tags=["try"])
        print(run.successful, run.data.accuracy)

    Args:
        flow: A flow class, or the path of a flow file.
        parameters: Parameter values by name.
        tags: User tags for the run.
        max_workers: Worker processes (default: the number of cores).
        run_id: The run's id (default: the next number).
        settings: Where to record (default: resolved from the environment, as the CLI does).
        show_progress: ``None`` shows progress when stdout is a terminal; ``False`` (the
            default) shows nothing.
        heartbeat_timeout: Seconds of silence after which readers record the run lost.
        partition: The partition the run computes (``partition:<key>``, ``current.partition``).
        store_retry_seconds: How long the metadata store may stay unavailable (records are
            held and sent when it is back) before the run stops.

    Returns:
        The finished run (a ``flowtrail.Run``), whatever its status.

    Raises:
        InvalidFlow: the flow or a parameter is wrong (nothing recorded).
        InvalidTag: a tag is invalid or reserved (nothing recorded).
        AlreadyExists: ``run_id`` is taken (nothing recorded).
    """
    flow_cls = load_flow(flow) if isinstance(flow, str | os.PathLike) else flow
    if not (isinstance(flow_cls, type) and issubclass(flow_cls, FlowSpec)):
        raise InvalidArgument(f"run_flow takes a FlowSpec subclass or a path, got {flow!r}")
    settings = settings or resolve_settings()
    request = RunRequest(
        parameters=dict(parameters or {}),
        tags=tuple(tags),
        max_workers=max_workers,
        run_id=run_id,
        heartbeat_timeout=timedelta(seconds=heartbeat_timeout),
        partition=partition,
        image=image_from_env(),
        store_retry_seconds=store_retry_seconds,
    )
    outcome = launch(flow_cls, settings, request, choose_progress(show_progress))
    from flowtrail.client import Run

    return Run.bound(str(outcome.run), settings)
