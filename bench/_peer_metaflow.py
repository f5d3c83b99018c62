"""Metaflow's client on a history written in its local metadata layout (a peer of
``bench/client.py``, run in Metaflow's own virtual environment; it imports neither flowtrail
nor the bench's helpers).

``python _peer_metaflow.py SPEC.json WORKDIR`` writes ``WORKDIR/.metaflow`` as Metaflow's
``LocalMetadataProvider`` lays it out, straight to files (no Metaflow runtime):
``<Flow>/_meta/_self.json`` per flow, ``<Flow>/<run>/_meta/_self.json`` per run (its tags,
system tags, user and creation time: everything the measured queries read), and for the probe
run its ``train`` step and task with their ``_self.json`` and one ``sysmeta_<field>_<ts>.json``
per metadata entry. Other runs get no step or task folders: none of the measured queries opens
them (Metaflow finds runs with ``glob('<Flow>/*/_meta')``).

Then it times each query through ``metaflow.Flow``/``Task`` (``namespace(None)``) and prints
one JSON object on stdout: the Metaflow version, the seconds the layout took to write, and per
query the nanoseconds of each timed call and how many items the last call returned.
"""

from __future__ import annotations

import json
import os
import sys
import time
from itertools import islice
from pathlib import Path
from typing import Any


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data))


def write_layout(spec: dict[str, Any], root: Path) -> None:
    """Write ``root`` (a ``.metaflow`` folder) as the local metadata provider would."""
    flows = sorted({run[0] for run in spec["runs"]})
    for flow in flows:
        (root / flow / "_meta").mkdir(parents=True)
        _write(root / flow / "_meta" / "_self.json", {"flow_id": flow, "ts_epoch": 0})
    for flow, run_id, created_ms, user, tags, system_tags, _params in spec["runs"]:
        meta = root / flow / run_id / "_meta"
        meta.mkdir(parents=True)
        _write(
            meta / "_self.json",
            {
                "run_number": run_id,
                "flow_id": flow,
                "user_name": user,
                "tags": tags,
                "system_tags": system_tags,
                "ts_epoch": created_ms,
            },
        )
    probe = spec["probe"]
    flow, run_id, step, task_id = probe["pathspec"].split("/")
    run = next(r for r in spec["runs"] if r[0] == flow and r[1] == run_id)
    common = {"flow_id": flow, "user_name": run[3], "tags": run[4], "system_tags": run[5]}
    step_meta = root / flow / run_id / step / "_meta"
    task_meta = root / flow / run_id / step / task_id / "_meta"
    task_meta.mkdir(parents=True)
    step_meta.mkdir(parents=True, exist_ok=True)
    stamp = run[2]
    _write(
        step_meta / "_self.json",
        {"run_number": run_id, "step_name": step, **common, "ts_epoch": stamp},
    )
    _write(
        task_meta / "_self.json",
        {"run_number": run_id, "step_name": step, "task_id": task_id, **common, "ts_epoch": stamp},
    )
    for field, value, type_, attempt, ts_ms in probe["metadata"]:
        _write(
            task_meta / f"sysmeta_{field}_{ts_ms}.json",
            {
                "flow_id": flow,
                "run_number": run_id,
                "step_name": step,
                "task_id": task_id,
                "field_name": field,
                "type": type_,
                "value": str(value),
                "tags": [f"attempt_id:{attempt}"],
                "user_name": run[3],
                "ts_epoch": ts_ms,
            },
        )


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Time each query; Metaflow is imported here, after the layout exists."""
    from metaflow import Flow, Task, namespace

    namespace(None)
    q = spec["queries"]
    page = spec["page"]
    flow = Flow(q["flow"])
    user = f"user:{q['user']}"

    def compound() -> list[Any]:
        # No query language: the runs with the tag, filtered on what their _self.json holds.
        found = (
            run
            for run in flow.runs(q["tag"])
            if user in run.system_tags and run.created_at.timestamp() * 1000 < q["before_ms"]
        )
        return list(islice(found, page))

    calls = {
        "latest_run": lambda: [flow.latest_run],
        "runs_tag": lambda: list(islice(flow.runs(q["rare_tag"]), page)),
        "member": lambda: [q["member"]] if q["member"] in flow else [],
        "compound": compound,
        "task_metadata": lambda: list(Task(spec["probe"]["pathspec"]).metadata_dict),
    }
    results: dict[str, Any] = {}
    for name, call in calls.items():
        samples = spec["samples"].get(name, spec["samples"]["default"])
        for _ in range(spec["warmup"]):
            call()
        times = []
        items = 0
        for _ in range(samples):
            started = time.perf_counter_ns()
            items = len(call())
            times.append(time.perf_counter_ns() - started)
        results[name] = {"ns": times, "items": items}
    return results


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    workdir = Path(sys.argv[2])
    started = time.perf_counter()
    write_layout(spec, workdir / ".metaflow")
    built = time.perf_counter() - started
    os.chdir(workdir)  # Metaflow finds .metaflow from the working directory
    import metaflow

    out = {"version": metaflow.__version__, "build_s": built, "queries": measure(spec)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
