"""MLflow's tracking client on a SQLite tracking store holding the same runs (a peer of
``bench/client.py``, run in MLflow's own virtual environment; it imports neither flowtrail nor
the bench's helpers).

``python _peer_mlflow.py SPEC.json WORKDIR`` creates ``WORKDIR/mlflow.db`` through MLflow's
own API (its schema and migrations), one experiment per flow, and the probe: a nested run
(``mlflow.parentRunId``) standing for the task whose metadata is read, with one tag per
metadata entry. Creating the other runs one API call at a time would take hours at 100,000
runs, so they are inserted with ``executemany`` into MLflow's tables with the columns its API
writes (checked against a run created through the API): a run row, tags (each flowtrail tag
``key:value`` as MLflow tag ``key`` = ``value``, a plain tag ``t`` as ``t`` = ``'true'``,
``mlflow.user``, ``mlflow.runName``) and params (``alpha``, ``epochs``).

Each query goes through ``MlflowClient`` and prints as ``_peer_metaflow.py`` does.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any


def _tag_pair(tag: str) -> tuple[str, str]:
    key, sep, value = tag.partition(":")
    return (key, value) if sep else (tag, "true")


def build(spec: dict[str, Any], workdir: Path) -> tuple[Any, dict[str, str], dict[str, str]]:
    """The client, the experiment id of each flow, and the MLflow run id of each flowtrail
    run id of the measured flow (and of the probe task)."""
    import mlflow
    from mlflow import MlflowClient

    db = workdir / "mlflow.db"
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    flows = sorted({run[0] for run in spec["runs"]})
    experiments = {flow: client.create_experiment(flow) for flow in flows}
    ids: dict[str, str] = {}
    run_rows, tag_rows, param_rows = [], [], []
    for flow, run_id, created_ms, user, tags, _system, params in spec["runs"]:
        run_uuid = uuid.uuid4().hex
        if flow == spec["queries"]["flow"]:
            ids[run_id] = run_uuid
        experiment = experiments[flow]
        run_rows.append(
            (
                *(run_uuid, run_id, "UNKNOWN", "", "", user, "FINISHED", created_ms),
                *(created_ms + 60_000, "", "active"),
                *(f"{workdir}/mlruns/{experiment}/{run_uuid}/artifacts", int(experiment), None),
            )
        )
        tag_rows.extend((*_tag_pair(tag), run_uuid) for tag in tags)
        tag_rows.append(("mlflow.user", user, run_uuid))
        tag_rows.append(("mlflow.runName", run_id, run_uuid))
        param_rows.extend((key, str(value), run_uuid) for key, value in params.items())
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(f"INSERT INTO runs VALUES ({', '.join('?' * 14)})", run_rows)
        conn.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", tag_rows)
        conn.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", param_rows)
    conn.close()
    probe = spec["probe"]
    flow, run_id, _, _ = probe["pathspec"].split("/")
    child = client.create_run(
        experiments[flow],
        tags={"mlflow.parentRunId": ids[run_id]},
        run_name=probe["pathspec"],
    )
    # One tag per metadata entry, the latest value of each name (what metadata_dict shows).
    latest = {field: value for field, value, _t, _a, _ts in probe["metadata"]}
    client.set_tag(child.info.run_id, "attempt_count", "2")
    from mlflow.entities import RunTag

    client.log_batch(child.info.run_id, tags=[RunTag(k, str(v)) for k, v in latest.items()])
    ids[probe["pathspec"]] = child.info.run_id
    return client, experiments, ids


def measure(
    spec: dict[str, Any], client: Any, experiments: dict[str, str], ids: dict[str, str]
) -> dict[str, Any]:
    q = spec["queries"]
    page = spec["page"]
    experiment = [experiments[q["flow"]]]
    key, value = _tag_pair(q["tag"])
    rare_key, rare_value = _tag_pair(q["rare_tag"])
    compound = (
        f"tags.`{key}` = '{value}' and attributes.user_id = '{q['user']}' "
        f"and attributes.start_time < {q['before_ms']}"
    )
    newest = ["attributes.start_time DESC"]
    calls = {
        "latest_run": lambda: client.search_runs(experiment, max_results=1, order_by=newest),
        "runs_tag": lambda: client.search_runs(
            experiment, f"tags.`{rare_key}` = '{rare_value}'", max_results=page, order_by=newest
        ),
        "member": lambda: [client.get_run(ids[q["member"]])],
        "compound": lambda: client.search_runs(
            experiment, compound, max_results=page, order_by=newest
        ),
        "task_metadata": lambda: list(client.get_run(ids[spec["probe"]["pathspec"]]).data.tags),
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
    client, experiments, ids = build(spec, workdir)
    built = time.perf_counter() - started
    import mlflow

    results = measure(spec, client, experiments, ids)
    print(json.dumps({"version": mlflow.__version__, "build_s": built, "queries": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
