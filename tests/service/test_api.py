"""The service app: /ping, /metrics, the OpenAPI document, pages, and refused input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

import flowtrail
from flowtrail.errors import (
    AlreadyExists,
    InvalidPathspec,
    InvalidQuery,
    InvalidTransition,
    NotFound,
    RequestTooLarge,
)
from flowtrail.model import (
    Batch,
    Level,
    MetadataValue,
    NewArtifact,
    NewAttempt,
    NewMetadata,
    NewRun,
    NewStep,
    NewTask,
    PageRequest,
    Pathspec,
    RunFilter,
    Status,
    StepKind,
)
from flowtrail.store import MetadataStore
from flowtrail.store.http import HttpStore
from flowtrail.wire import BatchModel


def test_ping_answers_with_the_version(client: TestClient) -> None:
    response = client.get("/ping")
    assert response.status_code == 200
    assert response.json()["version"] == flowtrail.__version__ == "0.1.0"
    assert response.json()["api"] == "v1"


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    store = HttpStore(client)
    store.create_run(NewRun("F"))
    store.get_run(Pathspec("F", "1"))
    with pytest.raises(NotFound):
        store.get_flow("Nope")
    text = client.get("/metrics").text
    assert (
        'flowtrail_http_requests_total{method="POST",route="/api/v1/runs",status="201"} 1.0' in text
    )
    assert 'route="/api/v1/flows/{name}",status="404"' in text
    assert "flowtrail_http_request_duration_seconds_bucket" in text
    assert "flowtrail_runs_created_total 1.0" in text
    assert "flowtrail_tasks_recorded_total 0.0" in text


def test_each_app_has_its_own_metrics(app: object, inner: MetadataStore) -> None:
    from flowtrail.service import create_app

    with TestClient(create_app(inner)) as other:
        other.post("/api/v1/runs", json={"flow_name": "F"})
        assert "flowtrail_runs_created_total 1.0" in other.get("/metrics").text
    with TestClient(create_app(inner)) as fresh:
        assert "flowtrail_runs_created_total 0.0" in fresh.get("/metrics").text


def test_metrics_show_the_postgres_pool(postgres_engine: object) -> None:
    from flowtrail.service import create_app
    from flowtrail.store import SqlStore

    with TestClient(create_app(SqlStore(postgres_engine))) as client:  # type: ignore[arg-type]
        text = client.get("/metrics").text
    assert "flowtrail_db_pool_size" in text
    assert "flowtrail_db_pool_checked_out" in text


def test_a_batch_counts_its_tasks(client: TestClient) -> None:
    store = HttpStore(client)
    run = store.create_run(NewRun("F")).pathspec
    step = run.child("start")
    batch = Batch(
        "b1",
        run,
        steps=(NewStep(step, StepKind.START),),
        tasks=(NewTask(step.child("1")), NewTask(step.child("2"))),
    )
    assert store.write_batch(batch).applied
    assert not store.write_batch(batch).applied  # a repeat: not counted again
    assert "flowtrail_tasks_recorded_total 2.0" in client.get("/metrics").text


def test_the_openapi_document_covers_the_api(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path in ["/api/v1/runs", "/api/v1/batches", "/api/v1/blobs/{sha}", "/ping", "/metrics"]:
        assert path in paths
    assert set(paths["/api/v1/blobs/{sha}"]) == {"get", "put", "head"}
    assert "bearer" in json.dumps(document["components"]["securitySchemes"]).lower()
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.get_run(Pathspec("F", "9")), NotFound),
        (lambda s: s.create_run(NewRun("F", run_id="1")), AlreadyExists),
        (lambda s: s.set_run_status(Pathspec("F", "1"), Status.SUCCEEDED), None),
        (
            lambda s: [s.set_run_status(Pathspec("F", "1"), x) for x in ("succeeded", "running")],
            InvalidTransition,
        ),
        (lambda s: s.find_runs(RunFilter(where="params.a >")), InvalidQuery),
        (lambda s: s.find_steps(Pathspec("F", "1", "start")), InvalidPathspec),
    ],
)
def test_errors_come_back_as_the_store_raised_them(client: TestClient, call, error) -> None:  # type: ignore[no-untyped-def]
    store = HttpStore(client)
    store.create_run(NewRun("F", run_id="1"))
    if error is None:
        call(store)
        return
    with pytest.raises(error) as info:
        call(store)
    assert type(info.value) is error


def test_the_envelope_carries_code_message_and_details(client: TestClient) -> None:
    response = client.get("/api/v1/run", params={"pathspec": "F/9"})
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "not_found"
    assert "F" in body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)


def test_an_unknown_endpoint_is_a_404_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"flow_name": "F", "colour": "red"}, "body.colour"),
        ({"flow_name": 5}, "body.flow_name"),
        ({"flow_name": "F", "heartbeat_timeout_ms": "60000"}, "body.heartbeat_timeout_ms"),
        (
            {"flow_name": "F", "trigger": [{"name": "e", "timestamp": 1, "extra": 1}]},
            "body.trigger.0.extra",
        ),
        ({"flow_name": "F", "status": "sleeping"}, "body.status"),
        ({"flow_name": "not a name"}, "body.flow_name"),
        ({}, "body.flow_name"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(
    client: TestClient, inner: MetadataStore, body: dict[str, object], field: str
) -> None:
    response = client.post("/api/v1/runs", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] in ("invalid_argument", "invalid_pathspec")
    assert error["message"].startswith(field), error
    assert error["details"]["field_path"].startswith(field.split(".")[0])
    assert len(inner.find_runs()) == 0


def test_malformed_json_is_a_400(client: TestClient) -> None:
    response = client.post(
        "/api/v1/runs", content=b'{"flow_name": "F",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_argument"


def test_bad_pathspecs_are_400_naming_the_parameter(client: TestClient) -> None:
    response = client.get("/api/v1/task", params={"pathspec": "F/1"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_pathspec"
    assert error["details"]["field_path"] == "query.pathspec"


@pytest.mark.parametrize(
    ("field", "level", "bad"),
    [
        ("tasks", Level.TASK, "F/1/start/two words"),
        ("tasks", Level.TASK, "F/1/start/1/x"),
        ("attempts", Level.TASK, "F/1/start/1\t"),
        ("metadata", None, "F//start/1"),
        ("metadata", None, "F/1/start/1/x/y"),
        ("metadata", None, "F/1/start/1/"),
        ("artifacts", Level.ARTIFACT, "F/1/start/1/class"),
        ("artifacts", Level.ARTIFACT, "F/1/start/1/"),
        ("artifacts", Level.ARTIFACT, "F/1/start/1"),
        ("artifacts", Level.ARTIFACT, "F/1/start/1/a/b"),
    ],
)
def test_a_bad_pathspec_after_good_ones_of_its_parents_is_refused_as_parse_refuses_it(
    client: TestClient, inner: MetadataStore, field: str, level: Level | None, bad: str
) -> None:
    # The service remembers pathspecs it parsed (the first batch's): a bad one below them
    # must be refused all the same, with Pathspec.parse's message and the field's path.
    store = HttpStore(client)
    run = store.create_run(NewRun("F")).pathspec
    task = run.child("start").child("1")
    good = Batch(
        batch_id="good",
        run=run,
        steps=(NewStep(task.parent, StepKind.START, ("end",)),),
        tasks=(NewTask(task),),
        attempts=(NewAttempt(task, 0),),
        metadata=(NewMetadata(task, "f", MetadataValue.of("v"), "user", 0),),
        artifacts=(NewArtifact(task.child("a"), 0, "0" * 64, 1, "builtins.int", "pickle"),),
    )
    assert store.write_batch(good).applied
    body = BatchModel.of(good).model_dump(mode="json")
    body.update(batch_id="bad", steps=[], tasks=[], attempts=[], metadata=[], artifacts=[])
    item = BatchModel.of(good).model_dump(mode="json")[field][0]
    body[field] = [{**item, "pathspec": bad}]
    response = client.post("/api/v1/batches", json=body)
    assert response.status_code == 400, response.text
    with pytest.raises(InvalidPathspec) as refused:
        Pathspec.parse(bad, level)
    error = response.json()["error"]
    assert error["code"] == "invalid_pathspec"
    assert error["message"] == f"body.{field}.0.pathspec: {refused.value.message}"
    assert error["details"]["field_path"] == f"body.{field}.0.pathspec"
    assert len(inner.find_tasks(run)) == 1


def test_a_bad_item_deep_in_a_batch_names_its_path_and_writes_nothing(
    client: TestClient, inner: MetadataStore
) -> None:
    store = HttpStore(client)
    run = store.create_run(NewRun("F")).pathspec
    body = {
        "batch_id": "b",
        "run": str(run),
        "steps": [{"pathspec": "F/1/start", "kind": "start"}],
        "tasks": [{"pathspec": "F/1/start/1"}, {"pathspec": "F/1/start"}],
    }
    response = client.post("/api/v1/batches", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("body.tasks.1.pathspec:")
    assert len(inner.find_steps(run)) == 0


def test_unknown_query_parameters_are_refused(client: TestClient) -> None:
    response = client.get("/api/v1/runs", params={"flow": "F", "colour": "red"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field_path"] == "query.colour"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/flows", {}),
        ("/api/v1/runs", {"flow": "F"}),
        ("/api/v1/tags", {}),
        ("/api/v1/steps", {"pathspec": "F/1"}),
        ("/api/v1/tasks", {"pathspec": "F/1"}),
        ("/api/v1/metadata", {"pathspec": "F/1"}),
    ],
)
def test_a_page_larger_than_the_maximum_is_refused(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params={"limit": 1001, **params})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"]["field_path"] == "query.limit"
    assert "1 to 1000" in error["message"]


def test_every_listing_has_a_limit_parameter(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    listings = ["flows", "runs", "tags", "steps", "tasks", "tasks/children", "attempts",
                "metadata", "artifacts", "logs"]  # fmt: skip
    for name in listings:
        params = {p["name"]: p for p in paths[f"/api/v1/{name}"]["get"]["parameters"]}
        assert params["limit"]["schema"]["maximum"] == 1000, name


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/flows", {}),
        ("/api/v1/runs", {"flow": "F"}),
        ("/api/v1/runs", {"flow": "F", "where": "status = 'failed'", "order_by": "-run_id"}),
        ("/api/v1/steps", {"pathspec": "F/1"}),
        ("/api/v1/metadata", {"pathspec": "F/1"}),
    ],
)
def test_a_forged_cursor_names_the_query_field(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    HttpStore(client).create_run(NewRun("F"))
    response = client.get(path, params={"cursor": "not a cursor", **params})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_argument"
    assert error["details"]["field_path"] == "query.cursor"
    assert error["message"].startswith("query.cursor: expected a cursor returned by a ")


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"where": "duration >="}, "query.where", "at column 12: expected a value after '>='"),
        ({"order_by": "bogus"}, "query.order_by", "bogus"),
    ],
)
def test_a_bad_search_names_its_query_field(
    client: TestClient, params: dict[str, str], field: str, message: str
) -> None:
    response = client.get("/api/v1/runs", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_query"
    assert error["details"]["field_path"] == field
    assert error["message"].startswith(f"{field}: ")
    assert message in error["message"]


def test_pages_through_http_follow_the_cursor(client: TestClient) -> None:
    store = HttpStore(client)
    for _ in range(5):
        store.create_run(NewRun("F"))
    first = store.find_runs(RunFilter("F"), PageRequest(2))
    second = store.find_runs(RunFilter("F"), first.next_request())
    assert [r.run_id for r in [*first, *second]] == ["5", "4", "3", "2"]


def test_an_oversized_body_is_a_413_and_writes_nothing(
    client: TestClient, inner: MetadataStore
) -> None:
    body = {"flow_name": "F", "parameters": {"blob": "x" * 70_000}}
    response = client.post("/api/v1/runs", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert response.json()["error"]["details"]["limit"] == 64 * 1024
    with pytest.raises(RequestTooLarge):
        HttpStore(client).create_run(NewRun("F", parameters={"blob": "x" * 70_000}))
    assert len(inner.find_runs()) == 0


def test_an_oversized_body_without_content_length_is_refused(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 8192

    response = client.post(
        "/api/v1/runs", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_an_unexpected_error_is_a_500_envelope(inner: MetadataStore) -> None:
    from flowtrail.service import create_app

    class Broken(type(inner)):  # type: ignore[misc]
        def find_flows(self, page=None):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom: secret detail")

    broken = Broken(inner.engine)  # type: ignore[attr-defined]
    with TestClient(create_app(broken)) as client:
        response = client.get("/api/v1/flows")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal"
    assert "secret detail" not in error["message"]
