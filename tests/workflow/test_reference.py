"""The reference example of Ray's get_metadata, and the same workflow read back through the
client and the CLI."""

from __future__ import annotations

import json
from typing import Any

from flowtrail import workflow
from flowtrail.client import Run, default_metadata, metadata
from tests.workflow.conftest import Project

REFERENCE = """
from flowtrail import workflow

@workflow.task
def trip():
    print("on the road")

workflow_task = trip.options(
    **workflow.options(task_id="trip", metadata={"k1": "v1"})).bind()
workflow.run(workflow_task,
    workflow_id="trip1", metadata={"k2": "v2"})
workflow_metadata = workflow.get_metadata("trip1")
print(repr(workflow_metadata))

task_metadata = workflow.get_metadata("trip1", "trip")
print(repr(task_metadata))
"""


def _times_aside(found: dict[str, Any]) -> dict[str, Any]:
    stats = found["stats"]
    assert set(stats) == {"start_time", "end_time"}
    assert all(isinstance(v, float) for v in stats.values())
    assert stats["start_time"] <= stats["end_time"]
    return {**found, "stats": dict.fromkeys(stats, ...)}


def test_the_reference_example_gives_the_reference_dicts(project: Project) -> None:
    result = project.python("trip.py", REFERENCE)
    assert result.returncode == 0, result.stderr
    workflow_line, task_line = result.stdout.splitlines()[-2:]
    found_workflow = eval(workflow_line)  # the printed dicts, as Ray's docs show them
    found_task = eval(task_line)
    assert _times_aside(found_workflow) == {
        "status": "SUCCESSFUL",
        "user_metadata": {"k2": "v2"},
        "stats": {"start_time": ..., "end_time": ...},
    }
    assert _times_aside(found_task) == {
        "task_id": "trip",
        "task_options": {
            "task_type": "FUNCTION",
            "max_retries": 3,
            "catch_exceptions": False,
            "retry_exceptions": False,
            "checkpoint": True,
            "ray_options": {
                "_metadata": {"workflow.io/options": {"task_id": "trip", "metadata": {"k1": "v1"}}}
            },
        },
        "user_metadata": {"k1": "v1"},
        "workflow_refs": [],
        "stats": {"start_time": ..., "end_time": ...},
    }
    # Printed exactly as the reference prints them (times aside).
    assert task_line.startswith(
        "{'task_id': 'trip', 'task_options': {'task_type': 'FUNCTION', 'max_retries': 3, "
        "'catch_exceptions': False, 'retry_exceptions': False, 'checkpoint': True, "
        "'ray_options': {'_metadata': {'workflow.io/options': {'task_id': 'trip', "
        "'metadata': {'k1': 'v1'}}}}}, 'user_metadata': {'k1': 'v1'}, 'workflow_refs': [], "
        "'stats': {'start_time': "
    )
    assert workflow_line.startswith(
        "{'status': 'SUCCESSFUL', 'user_metadata': {'k2': 'v2'}, 'stats': {'start_time': "
    )

    # The same workflow is a run of the history: through the client ...
    metadata(f"local@{project.path / '.flowtrail'}")
    try:
        run = Run("trip/trip1", _namespace_check=False)
    finally:
        default_metadata()
    assert run.successful
    assert "workflow:trip1" in run.system_tags
    task = run["trip"].task
    assert task.id == "trip"
    assert task.data.output is None
    assert [line for _, line in task.loglines("stdout")] == ["on the road"]
    assert task.metadata_dict["k1"] == "v1"
    assert task.metadata_dict["attempt"] == 0

    # ... and through the CLI, as text and as JSON.
    shown = project.cli("show", "trip/trip1")
    assert shown.returncode == 0, shown.stderr
    assert "succeeded" in shown.stdout
    as_json = project.cli("show", "trip/trip1", "--output", "json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["status"] == "succeeded"
    assert [s["step"] for s in document["steps"]] == ["trip"]
    assert "workflow:trip1" in document["system_tags"]


def test_metadata_agrees_with_status_in_process(project: Project) -> None:
    @workflow.task
    def double(x: int) -> int:
        return 2 * x

    out = workflow.run(double.bind(double.bind(3)), workflow_id="d", settings=project.settings)
    assert out == 12
    found = workflow.get_metadata("d", settings=project.settings)
    assert found["status"] == workflow.get_status("d", settings=project.settings)
    assert found["user_metadata"] == {}
    inner = "tests.workflow.test_reference.test_metadata_agrees_with_status_in_process"
    ids = [f"{inner}.locals.double", f"{inner}.locals.double_1"]
    second = workflow.get_metadata("d", ids[1], settings=project.settings)
    assert second["workflow_refs"] == [ids[0]]
    assert second["task_options"]["ray_options"] == {}
    assert workflow.get_output("d", task_id=ids[0], settings=project.settings) == 6
    assert workflow.get_output("d", settings=project.settings) == 12
