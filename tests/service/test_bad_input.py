"""Input the service refuses: numbers no column holds, bodies JSON cannot read, fields the
models' own checks refuse. Each is a 400 naming the field, never a 500, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from flowtrail.model import NewAttempt, NewRun, NewStep, NewTask, Pathspec, RunFilter, StepKind
from flowtrail.store import MetadataStore

BIG = 2**63 + 5
HUGE = 99999999999999999999
TASK = "F/1/start/1"
SHA = "a" * 64


@pytest.fixture
def history(inner: MetadataStore) -> MetadataStore:
    """One run with a step, a task and its first attempt: ``F/1/start/1``."""
    inner.create_run(NewRun("F", run_id="1"))
    inner.create_step(NewStep(Pathspec.parse("F/1/start"), StepKind.START))
    inner.create_task(NewTask(Pathspec.parse(TASK)))
    inner.start_attempt(NewAttempt(Pathspec.parse(TASK), 0))
    return inner


def rows(store: MetadataStore) -> tuple[int, ...]:
    """How much the history holds, to show a refused request wrote nothing."""
    task = Pathspec.parse(TASK)
    return (
        len(store.find_runs(RunFilter())),
        len(store.find_attempts(task)),
        len(store.find_metadata(task)),
        len(store.find_artifacts(task)),
        len(store.read_log_lines(task, attempt=0, stream="stdout")),  # type: ignore[arg-type]
        len(store.find_flows()),
    )


def deep(depth: int) -> Any:
    """A value nesting ``depth`` lists."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def line(**fields: Any) -> dict[str, Any]:
    return {"pathspec": TASK, "attempt": 0, "stream": "stdout", "seq": 0, "text": "x", **fields}


def artifact(**fields: Any) -> dict[str, Any]:
    base = {"pathspec": f"{TASK}/a", "attempt": 0, "sha": SHA, "size": 1}
    return {**base, "python_type": "builtins.int", "encoding": "pickle", **fields}


def attempt(**fields: Any) -> dict[str, Any]:
    return {"pathspec": TASK, "number": 1, **fields}


WRITES = [
    ("/api/v1/runs", {"flow_name": "F", "heartbeat_timeout_ms": HUGE}, "body.heartbeat_timeout_ms"),
    ("/api/v1/runs", {"flow_name": "F", "heartbeat_timeout_ms": 0}, "body.heartbeat_timeout_ms"),
    ("/api/v1/runs", {"flow_name": "F", "created_at": HUGE}, "body.created_at"),
    ("/api/v1/runs", {"flow_name": "bad name!"}, "body.flow_name"),
    ("/api/v1/runs", {"flow_name": "F", "run_id": "a b"}, "body.run_id"),
    ("/api/v1/runs", {"flow_name": "F", "origin_run_id": ""}, "body.origin_run_id"),
    ("/api/v1/runs", {"flow_name": "F", "tags": ["x" * 600]}, "body.tags"),
    ("/api/v1/runs", {"flow_name": "F", "system_tags": ["plain"]}, "body.system_tags.0"),
    ("/api/v1/runs", {"flow_name": "F", "user": ""}, "body.user"),
    # Deeper than every JSON parser on the way reads (pydantic's stops near 200).
    ("/api/v1/runs", {"flow_name": "F", "parameters": {"p": deep(150)}}, "body.parameters.p"),
    ("/api/v1/attempts", attempt(number=BIG), "body.number"),
    ("/api/v1/attempts", attempt(number=2**31), "body.number"),
    ("/api/v1/attempts", attempt(pid=BIG), "body.pid"),
    ("/api/v1/attempts/end", attempt(number=BIG, status="succeeded"), "body.number"),
    ("/api/v1/logs", {"lines": [line(seq=BIG)]}, "body.lines.0.seq"),
    ("/api/v1/logs", {"lines": [line(attempt=BIG)]}, "body.lines.0.attempt"),
    ("/api/v1/artifacts", {"artifacts": [artifact(size=BIG)]}, "body.artifacts.0.size"),
    ("/api/v1/artifacts", {"artifacts": [artifact(attempt=2**31)]}, "body.artifacts.0.attempt"),
    (
        "/api/v1/metadata",
        {
            "entries": [
                {
                    "pathspec": TASK,
                    "field_name": "f",
                    "value": {"type": "int", "text": "1"},
                    "attempt": BIG,
                }
            ]
        },
        "body.entries.0.attempt",
    ),
    (
        "/api/v1/batches",
        {"batch_id": "b", "run": "F/1", "attempts": [attempt(number=BIG)]},
        "body.attempts.0.number",
    ),
    (
        "/api/v1/batches",
        {"batch_id": "b", "run": "F/1", "log_lines": [line(seq=BIG)]},
        "body.log_lines.0.seq",
    ),
    ("/api/v1/flows", {"name": "bad name!"}, "body.name"),
    ("/api/v1/runs/heartbeat", {"pathspec": "F/1", "at": 10**18}, "body.at"),
    ("/api/v1/runs/status", {"pathspec": "F/1", "status": "succeeded", "at": 10**18}, "body.at"),
    ("/api/v1/tasks/status", {"pathspec": TASK, "status": "succeeded", "at": -(10**18)}, "body.at"),
]


@pytest.mark.parametrize(("path", "body", "field"), WRITES)
def test_refused_writes_name_the_field_and_write_nothing(
    client: TestClient, history: MetadataStore, path: str, body: dict[str, Any], field: str
) -> None:
    before = rows(history)
    response = client.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] in ("invalid_argument", "invalid_pathspec", "invalid_tag")
    assert error["details"]["field_path"] == field, error
    assert error["message"].startswith(f"{field}: "), error
    assert rows(history) == before


READS = [
    ("/api/v1/metadata", {"pathspec": TASK, "attempt": HUGE}, "query.attempt"),
    ("/api/v1/artifacts", {"pathspec": TASK, "attempt": 2**64}, "query.attempt"),
    ("/api/v1/artifact", {"pathspec": f"{TASK}/a", "attempt": 2**31}, "query.attempt"),
    ("/api/v1/attempt", {"pathspec": TASK, "number": 2**64}, "query.number"),
    ("/api/v1/logs", {"pathspec": TASK, "attempt": 2**64, "stream": "stdout"}, "query.attempt"),
    (
        "/api/v1/logs",
        {"pathspec": TASK, "attempt": 0, "stream": "stdout", "offset": 2**64},
        "query.offset",
    ),
    (
        "/api/v1/logs",
        {"pathspec": TASK, "attempt": 0, "stream": "stdout", "limit": 0},
        "query.limit",
    ),
    (
        "/api/v1/logs",
        {"pathspec": TASK, "attempt": 0, "stream": "stdout", "limit": 5000},
        "query.limit",
    ),
    ("/api/v1/runs", {"created_after": HUGE}, "query.created_after"),
    ("/api/v1/runs", {"created_before": -HUGE}, "query.created_before"),
]


@pytest.mark.parametrize(("path", "params", "field"), READS)
def test_refused_reads_name_the_parameter(
    client: TestClient, history: MetadataStore, path: str, params: dict[str, Any], field: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_argument"
    assert error["details"]["field_path"] == field, error
    assert error["message"].startswith(f"{field}: "), error


def test_the_logs_limit_keeps_the_stores_message(
    client: TestClient, history: MetadataStore
) -> None:
    params = {"pathspec": TASK, "attempt": 0, "stream": "stdout", "limit": 5000}
    error = client.get("/api/v1/logs", params=params).json()["error"]
    assert error["message"] == "query.limit: limit must be from 1 to 1000, got 5000"


def test_an_attempt_out_of_range_keeps_the_stores_message(
    client: TestClient, history: MetadataStore
) -> None:
    # The wording the store and the client give, not the HTTP model's own.
    error = client.get("/api/v1/attempt", params={"pathspec": TASK, "number": 2**31}).json()
    assert error["error"]["message"] == (
        "query.number: attempt numbers count from 0 (at most 2147483647), got number=2147483648"
    )
    body = {"pathspec": TASK, "number": -1}
    error = client.post("/api/v1/attempts", json=body).json()["error"]
    assert error["message"] == (
        "body.number: attempt numbers count from 0 (at most 2147483647), got number=-1"
    )


def test_a_time_out_of_range_says_what_range(client: TestClient, history: MetadataStore) -> None:
    error = client.post("/api/v1/runs/heartbeat", json={"pathspec": "F/1", "at": 10**18}).json()
    message = error["error"]["message"]
    assert message.startswith("body.at: a time in epoch milliseconds must fall in the years 1")
    assert "Value error" not in message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"flow_name": "\xff"}', "body.15"),  # not UTF-8
        (b"[" * 5000 + b"]" * 5000, "body"),  # deeper than the JSON decoder goes
        (b'{"flow_name": "F", "heartbeat_timeout_ms": ' + b"9" * 5000 + b"}", "body"),
        (b'{"flow_name": "F",', "body.18"),  # a syntax error, for comparison
    ],
    ids=["invalid-utf8", "deep-nesting", "5000-digit-int", "syntax-error"],
)
def test_a_body_json_cannot_read_is_the_malformed_json_error(
    client: TestClient, history: MetadataStore, body: bytes, field: str
) -> None:
    before = rows(history)
    response = client.post(
        "/api/v1/runs", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_argument"
    assert error["details"]["field_path"] == field
    assert error["details"]["errors"][0]["type"] == "json_invalid"
    assert error["message"].startswith(f"{field}: JSON decode error")
    assert rows(history) == before


@pytest.mark.parametrize("depth", [300, 2000])
def test_json_metadata_nested_too_deep_is_refused(
    client: TestClient, history: MetadataStore, depth: int
) -> None:
    text = "[" * depth + "]" * depth
    value = {"type": "json", "text": text}
    entry = {"pathspec": TASK, "field_name": "f", "value": value}
    response = client.post("/api/v1/metadata", json={"entries": [entry]})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["field_path"] == "body.entries.0"
    flow = client.post("/api/v1/flows", json={"name": "G", "metadata": {"m": value}})
    assert flow.status_code == 400, flow.text
    assert flow.json()["error"]["details"]["field_path"] == "body.metadata"


def test_the_deepest_parameters_kept_read_back_through_http(
    client: TestClient, history: MetadataStore
) -> None:
    from flowtrail.model.limits import MAX_JSON_DEPTH
    from flowtrail.store.http import HttpStore

    store = HttpStore(client)
    run = store.create_run(NewRun("Deep", parameters={"p": deep(MAX_JSON_DEPTH)}))
    assert store.get_run(run.pathspec).parameters == {"p": deep(MAX_JSON_DEPTH)}
    assert store.find_runs(RunFilter("Deep")).items[0].parameters == {"p": deep(MAX_JSON_DEPTH)}


@pytest.mark.parametrize(
    "where", ["duration > 99999999999999999999", f"run_id > {2**64}", f"run_id < -{2**64}"]
)
def test_search_numbers_no_column_holds_are_refused(
    client: TestClient, history: MetadataStore, where: str
) -> None:
    response = client.get("/api/v1/runs", params={"where": where})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_query"
