"""open_blob_store: URL schemes to backends, options, and the errors for what it cannot open."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from flowtrail.blobs import (
    SUPPORTED_SCHEMES,
    CachingBackend,
    FsspecBackend,
    LocalBackend,
    blob_key,
    open_blob_store,
)
from flowtrail.errors import InvalidArgument, StoreUnavailable


@pytest.fixture
def memory_root() -> Iterator[str]:
    name = f"flowtrail-test-{uuid.uuid4().hex}"
    yield name
    fs = fsspec.filesystem("memory")
    if fs.exists(f"/{name}"):
        fs.rm(f"/{name}", recursive=True)


def test_plain_relative_path_is_a_local_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_blob_store("store") as store:
        assert isinstance(store.backend, LocalBackend)
        ref = store.put(b"data")
        assert store.get(ref.sha) == b"data"
    assert (tmp_path / "store" / blob_key(ref.sha)).read_bytes() == b"\x00data"


def test_path_object_is_a_local_folder(tmp_path: Path) -> None:
    with open_blob_store(tmp_path / "p") as store:
        assert isinstance(store.backend, LocalBackend)
        assert store.backend.root == tmp_path / "p"


def test_file_url_is_a_local_folder(tmp_path: Path) -> None:
    folder = tmp_path / "with space"
    with open_blob_store(folder.as_uri()) as store:
        assert isinstance(store.backend, LocalBackend)
        assert store.backend.root == folder
        ref = store.put(b"x")
    assert (folder / blob_key(ref.sha)).is_file()
    with open_blob_store(f"file://localhost{folder}") as store:
        assert store.get(ref.sha) == b"x"


@pytest.mark.parametrize(
    "url",
    ["file://server/share", "file://server", "file://server/", "file://user:sekrit@host/x"],
)
def test_file_url_with_a_remote_host_is_refused(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidArgument, match="file:///absolute/path") as info:
        open_blob_store(url)
    assert "sekrit" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_file_url_host_localhost_is_case_insensitive_and_needs_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a wrong reading as a relative path lands here, not in the repo
    with open_blob_store(f"file://LocalHost{tmp_path}") as store:
        assert isinstance(store.backend, LocalBackend)
        assert store.backend.root == tmp_path
    for url in ("file://localhost", "file://"):
        with pytest.raises(InvalidArgument, match="folder path"):
            open_blob_store(url)


def test_local_options(tmp_path: Path) -> None:
    with open_blob_store(str(tmp_path), durable=True, compress_threshold=0, level=5) as store:
        assert store.put(b"a" * 100).compressed is True
    with open_blob_store(str(tmp_path)) as store:
        assert store.put(b"b" * 100).compressed is False


def test_memory_url_is_fsspec(memory_root: str) -> None:
    with open_blob_store(f"memory://{memory_root}/blobs-root") as store:
        assert isinstance(store.backend, FsspecBackend)
        assert store.url == f"memory://{memory_root}/blobs-root"
        ref = store.put(b"in memory")
    fs = fsspec.filesystem("memory")
    assert fs.cat_file(f"/{memory_root}/blobs-root/{blob_key(ref.sha)}") == b"\x00in memory"


def test_scheme_is_case_insensitive(memory_root: str) -> None:
    with open_blob_store(f"MEMORY://{memory_root}") as store:
        assert isinstance(store.backend, FsspecBackend)
        assert store.get(store.put(b"x").sha) == b"x"


def test_cache_dir_wraps_a_remote_store(memory_root: str, tmp_path: Path) -> None:
    with open_blob_store(f"memory://{memory_root}", cache_dir=tmp_path / "cache") as store:
        backend = store.backend
        assert isinstance(backend, CachingBackend)
        assert isinstance(backend.remote, FsspecBackend)
        assert isinstance(backend.cache, LocalBackend)
        ref = store.put(b"cached")
    assert (tmp_path / "cache" / blob_key(ref.sha)).read_bytes() == b"\x00cached"


def test_cache_dir_is_refused_for_a_local_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="cache_dir"):
        open_blob_store(str(tmp_path / "blobs"), cache_dir=tmp_path / "cache")


def test_durable_is_refused_for_a_remote_store(memory_root: str) -> None:
    with pytest.raises(InvalidArgument, match="durable"):
        open_blob_store(f"memory://{memory_root}", durable=True)


def test_unknown_option_for_a_local_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="endpoint_url"):
        open_blob_store(str(tmp_path), endpoint_url="http://x")


def test_bad_store_option_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="level"):
        open_blob_store(str(tmp_path), level=99)


@pytest.mark.parametrize("url", ["ftp://host/blobs", "sftp://host/x", "webdav://host/blobs"])
def test_unknown_scheme_lists_the_supported_ones(url: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        open_blob_store(url)
    message = str(info.value)
    assert repr(url.split("://")[0]) in message
    for scheme in SUPPORTED_SCHEMES:
        assert f"{scheme}://" in message
    assert info.value.details["supported"] == list(SUPPORTED_SCHEMES)


def test_supported_schemes() -> None:
    assert {"file", "memory", "s3", "gs"} <= set(SUPPORTED_SCHEMES)


@pytest.mark.parametrize("url", ["", None, 42])
def test_empty_or_non_string_url_is_invalid(url: object) -> None:
    with pytest.raises(InvalidArgument, match="folder path"):
        open_blob_store(url)  # type: ignore[arg-type]


def test_unknown_scheme_message_hides_the_password() -> None:
    with pytest.raises(InvalidArgument) as info:
        open_blob_store("ftp://user:sekrit@host/blobs")
    assert "sekrit" not in str(info.value)


@pytest.mark.skipif(
    importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed: S3 would be tried"
)
def test_s3_without_s3fs_says_what_to_install() -> None:
    with pytest.raises(StoreUnavailable, match=r"flowtrail\[s3\]"):
        open_blob_store("s3://bucket/prefix")


@pytest.mark.skipif(
    importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed: S3 would be tried"
)
def test_password_never_shows_in_messages() -> None:
    with pytest.raises(StoreUnavailable) as info:
        open_blob_store("s3://user:sekrit@bucket/prefix")
    assert "sekrit" not in str(info.value)
    assert "s3://user:***@bucket/prefix" in str(info.value)
