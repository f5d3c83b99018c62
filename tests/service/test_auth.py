"""Tokens and roles: hashed token files, 401 and 403, and no token in any log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flowtrail.config import resolve_settings
from flowtrail.errors import Forbidden, InvalidArgument, Unauthorized
from flowtrail.model import NewRun
from flowtrail.service import (
    AuthConfig,
    Role,
    hash_token,
    load_token_file,
    make_token_line,
    new_token,
    parse_token_env,
)
from flowtrail.store.http import HttpStore
from tests.service.conftest import TOKENS, bearer


def test_a_token_file_reveals_no_token(token_file: Path) -> None:
    text = token_file.read_text()
    for token in TOKENS.values():
        assert token not in text
        assert hash_token(token) in text


def test_make_token_line_makes_a_new_random_token() -> None:
    token, line = make_token_line("ci", "write")
    name, role, digest = line.split()
    assert (name, role, digest) == ("ci", "write", hash_token(token))
    assert len(token) >= 40
    assert new_token() != new_token()
    assert load_token_file_from(line).authenticate(f"Bearer {token}").role is Role.WRITE


def load_token_file_from(text: str) -> AuthConfig:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as f:
        f.write(text + "\n")
    return load_token_file(f.name)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ci write", "expected 'name role sha256:<hex>'"),
        ("ci write tok-write-0123456789", "never the token itself"),
        (f"ci owner {hash_token('x')}", "read, write or admin"),
    ],
)
def test_malformed_token_lines_are_refused_without_echoing(line: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as info:
        load_token_file_from(line)
    assert "tok-write" not in str(info.value)
    assert ":1:" in str(info.value)


def test_tokens_from_the_environment_are_hashed() -> None:
    auth = parse_token_env("read:aaa111, write:bbb222")
    assert auth.authenticate("Bearer bbb222").role is Role.WRITE
    assert "bbb222" not in repr(auth)
    with pytest.raises(InvalidArgument, match="pair 1") as info:
        parse_token_env("secret-without-role")
    assert "secret-without-role" not in str(info.value)


def test_no_token_is_a_401_with_www_authenticate(secured: TestClient) -> None:
    for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}]:
        response = secured.get("/api/v1/flows", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["error"]["code"] == "unauthorized"


def test_ping_is_open(secured: TestClient) -> None:
    assert secured.get("/ping").status_code == 200


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [("read", 200, 403), ("write", 200, 201), ("admin", 200, 201)],
)
def test_roles(secured: TestClient, role: str, read: int, write: int) -> None:
    assert secured.get("/api/v1/flows", headers=bearer(role)).status_code == read
    assert secured.get("/metrics", headers=bearer(role)).status_code == read
    response = secured.post("/api/v1/runs", json={"flow_name": "F"}, headers=bearer(role))
    assert response.status_code == write
    if write == 403:
        assert response.json()["error"]["code"] == "forbidden"
        assert "read role" in response.json()["error"]["message"]


def test_deleting_a_run_needs_the_admin_role(secured: TestClient) -> None:
    created = secured.post("/api/v1/runs", json={"flow_name": "F"}, headers=bearer("write"))
    assert created.status_code == 201
    secured.post(
        "/api/v1/runs/status",
        json={"pathspec": "F/1", "status": "succeeded"},
        headers=bearer("write"),
    )
    params = {"pathspec": "F/1"}
    assert secured.delete("/api/v1/run", params=params, headers=bearer("write")).status_code == 403
    assert secured.delete("/api/v1/run", params=params, headers=bearer("admin")).status_code == 204
    assert secured.get("/api/v1/run", params=params, headers=bearer("read")).status_code == 404


def test_the_http_store_raises_unauthorized_and_forbidden(secured: TestClient) -> None:
    store = HttpStore(secured)
    with pytest.raises(Unauthorized):
        store.find_flows()
    secured.headers["Authorization"] = f"Bearer {TOKENS['read']}"
    assert len(store.find_flows()) == 0
    with pytest.raises(Forbidden):
        store.create_run(NewRun("F"))


def test_blob_writes_need_the_write_role(secured: TestClient) -> None:
    sha = "0" * 64
    assert secured.put(f"/api/v1/blobs/{sha}", content=b"x").status_code == 401
    assert (
        secured.put(f"/api/v1/blobs/{sha}", content=b"x", headers=bearer("read")).status_code == 403
    )
    assert secured.head(f"/api/v1/blobs/{sha}", headers=bearer("read")).status_code == 404


def test_tokens_never_reach_the_logs(secured: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secured.get("/api/v1/flows", headers=bearer("admin"))
    secured.get("/api/v1/flows", headers={"Authorization": "Bearer not-a-known-token"})
    secured.post("/api/v1/runs", json={"flow_name": "F"}, headers=bearer("read"))
    text = caplog.text
    assert "GET /api/v1/flows 200" in text
    assert "GET /api/v1/flows 401" in text
    for token in [*TOKENS.values(), "not-a-known-token"]:
        assert token not in text


def test_one_access_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="flowtrail.service.access")
    client.get("/api/v1/flows")
    client.get("/ping")
    lines = [r.getMessage() for r in caplog.records if r.name == "flowtrail.service.access"]
    assert len(lines) == 2
    assert lines[0].startswith("GET /api/v1/flows 200 ")
    assert lines[0].endswith("ms")


def test_the_client_token_is_resolved_from_the_environment() -> None:
    settings = resolve_settings(
        metadata="service@http://h:1", env={"FLOWTRAIL_SERVICE_TOKEN": "tok-xyz"}
    )
    assert settings.service_token == "tok-xyz"
    assert settings.sources["service_token"] == "env:FLOWTRAIL_SERVICE_TOKEN"
    assert "tok-xyz" not in repr(settings)
    assert resolve_settings(metadata="service@http://h:1", env={}).service_token is None
