"""Fixtures of the service tests: the real app over in-memory SQLite and a temp blob folder,
reached through ``TestClient`` (an ``httpx.Client``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from flowtrail.blobs import BlobStore, open_blob_store
from flowtrail.service import AuthConfig, ServiceConfig, create_app, make_token_line
from flowtrail.service.auth import load_token_file
from flowtrail.store import MetadataStore, open_store

TOKENS = {"read": "tok-read-0123456789", "write": "tok-write-0123456789", "admin": "tok-admin-0123"}


@pytest.fixture
def inner() -> Iterator[MetadataStore]:
    """The SQL store behind the app."""
    store = open_store("sqlite://")
    yield store
    store.close()


@pytest.fixture
def blobs(tmp_path: Path) -> Iterator[BlobStore]:
    """The blob store behind the app."""
    store = open_blob_store(tmp_path / "blobs")
    yield store
    store.close()


@pytest.fixture
def app(inner: MetadataStore, blobs: BlobStore) -> FastAPI:
    """The app without tokens."""
    return create_app(inner, blobs, ServiceConfig(max_body_bytes=64 * 1024))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of the app without tokens."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    """A token file with one token of each role."""
    path = tmp_path / "tokens"
    lines = [make_token_line(f"{role}_user", role, token)[1] for role, token in TOKENS.items()]
    path.write_text("# name role hash\n\n" + "\n".join(lines) + "\n")
    return path


@pytest.fixture
def auth(token_file: Path) -> AuthConfig:
    """The tokens of :func:`token_file`."""
    return load_token_file(token_file)


@pytest.fixture
def secured(inner: MetadataStore, blobs: BlobStore, auth: AuthConfig) -> Iterator[TestClient]:
    """A client (sending no token by itself) of an app that needs tokens."""
    with TestClient(create_app(inner, blobs, ServiceConfig(auth=auth))) as test_client:
        yield test_client


def bearer(role: str) -> dict[str, str]:
    """The header of the test token of ``role``."""
    return {"Authorization": f"Bearer {TOKENS[role]}"}
