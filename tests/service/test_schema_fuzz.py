"""A bounded, deterministic schemathesis run over the service's OpenAPI document: whatever
requests the document allows (and many it does not), the app never answers 500, and its
answers match the document."""

from __future__ import annotations

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flowtrail.blobs import open_blob_store
from flowtrail.model import NewRun, NewStep, NewTask, StepKind
from flowtrail.service import ServiceConfig, create_app
from flowtrail.store import open_store


def _app() -> FastAPI:
    """The app over a small history: one flow with a run, a step and a task (in memory)."""
    store = open_store("sqlite://")
    blobs = open_blob_store("memory://flowtrail-fuzz")
    run = store.create_run(NewRun(flow_name="F", run_id="1", user="ada", tags=frozenset({"x"})))
    step = store.create_step(NewStep(run.pathspec.child("start"), StepKind.START, ()))
    store.create_task(NewTask(step.pathspec.child("1")))
    return create_app(store, blobs, ServiceConfig(max_body_bytes=256 * 1024))


# schemathesis builds its tests from the document when the module is collected; the stores
# are in memory and go with the process.
schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_document(case: schemathesis.Case) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            response_schema_conformance,
            content_type_conformance,
            status_code_conformance,
        ]
    )


def test_a_time_out_of_range_is_refused_not_a_500() -> None:
    # Found by the run above: created_before far past year 9999 crashed the conversion.
    from fastapi.testclient import TestClient

    with TestClient(_app()) as client:
        for value in (10**20, -(10**20), 253402300800000):
            response = client.get("/api/v1/runs", params={"flow": "F", "created_before": value})
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == "invalid_argument"
            assert "epoch milliseconds" in response.json()["error"]["message"]
        assert client.get("/api/v1/runs", params={"flow": "F", "created_before": 0}).is_success
