"""The BlobBackend contract, run against every backend: local folder, fsspec memory, cached."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import fsspec
import pytest

from flowtrail.blobs import BlobBackend, CachingBackend, FsspecBackend, LocalBackend
from flowtrail.errors import InvalidArgument, NotFound, StoreUnavailable

BACKENDS = ["local", "fsspec-memory", "caching"]


@dataclass
class Case:
    """A backend under test and a way to look at what it stored behind its back."""

    backend: BlobBackend
    raw_read: Callable[[str], bytes]


@pytest.fixture
def memory_root() -> Iterator[str]:
    """A unique root in fsspec's process-wide memory file system, removed afterwards."""
    name = f"flowtrail-test-{uuid.uuid4().hex}"
    yield name
    fs = fsspec.filesystem("memory")
    if fs.exists(f"/{name}"):
        fs.rm(f"/{name}", recursive=True)


def _memory_read(root: str) -> Callable[[str], bytes]:
    fs = fsspec.filesystem("memory")
    return lambda key: bytes(fs.cat_file(f"/{root}/{key}"))


@pytest.fixture(params=BACKENDS)
def case(request: pytest.FixtureRequest, tmp_path: Path, memory_root: str) -> Iterator[Case]:
    kind = request.param
    backend: BlobBackend
    raw_read: Callable[[str], bytes]
    if kind == "local":
        local = LocalBackend(tmp_path / "blobs")
        backend = local

        def raw_read(key: str) -> bytes:
            return local.path_for(key).read_bytes()

    elif kind == "fsspec-memory":
        backend = FsspecBackend(f"memory://{memory_root}")
        raw_read = _memory_read(memory_root)
    else:
        backend = CachingBackend(
            FsspecBackend(f"memory://{memory_root}"), LocalBackend(tmp_path / "cache")
        )
        raw_read = _memory_read(memory_root)
    yield Case(backend, raw_read)
    backend.close()


BAD_KEYS = [
    "",
    "/abs",
    "a//b",
    "a/",
    "..",
    "../x",
    "a/../b",
    "a/./b",
    ".tmp-x",
    "a/.tmp-1234",
    "a b",
    "a\\b",
    "a*b",
    "a?b",
    "x" * 256,
]


def test_write_then_read_round_trips(case: Case) -> None:
    assert case.backend.write("a/b/c", b"hello") is True
    assert case.backend.read("a/b/c") == b"hello"
    assert case.raw_read("a/b/c") == b"hello"
    assert case.backend.exists("a/b/c") is True


def test_write_never_overwrites(case: Case) -> None:
    assert case.backend.write("k", b"first") is True
    assert case.backend.write("k", b"second") is False
    assert case.backend.read("k") == b"first"
    assert case.raw_read("k") == b"first"


def test_write_accepts_bytes_like_and_refuses_str(case: Case) -> None:
    assert case.backend.write("ba", bytearray(b"xy")) is True
    assert case.backend.write("mv", memoryview(b"zw")) is True
    assert case.backend.read("ba") == b"xy"
    assert case.backend.read("mv") == b"zw"
    with pytest.raises(InvalidArgument, match="got str"):
        case.backend.write("s", "text")  # type: ignore[arg-type]
    assert case.backend.exists("s") is False


def test_exists_and_delete_are_idempotent(case: Case) -> None:
    assert case.backend.exists("x/y") is False
    assert case.backend.delete("x/y") is False
    case.backend.write("x/y", b"1")
    assert case.backend.delete("x/y") is True
    assert case.backend.exists("x/y") is False
    assert case.backend.delete("x/y") is False
    with pytest.raises(NotFound):
        case.backend.read("x/y")
    # A deleted key can be written again.
    assert case.backend.write("x/y", b"2") is True
    assert case.backend.read("x/y") == b"2"


def test_list_keys_with_and_without_prefix(case: Case) -> None:
    keys = {"blobs/ab/ab1", "blobs/ab/ab2", "blobs/cd/cd1", "logs/run-1", "top"}
    for key in keys:
        case.backend.write(key, key.encode())
    assert set(case.backend.list_keys()) == keys
    assert set(case.backend.list_keys("blobs/")) == {"blobs/ab/ab1", "blobs/ab/ab2", "blobs/cd/cd1"}
    assert set(case.backend.list_keys("blobs/ab/")) == {"blobs/ab/ab1", "blobs/ab/ab2"}
    assert set(case.backend.list_keys("blobs/a")) == {"blobs/ab/ab1", "blobs/ab/ab2"}
    assert set(case.backend.list_keys("blobs/ab/ab2")) == {"blobs/ab/ab2"}
    assert set(case.backend.list_keys("t")) == {"top"}
    assert list(case.backend.list_keys("nothing/")) == []
    case.backend.delete("top")
    assert "top" not in set(case.backend.list_keys())


def test_list_keys_of_an_empty_store(case: Case) -> None:
    assert list(case.backend.list_keys()) == []


def test_read_missing_raises_not_found(case: Case) -> None:
    with pytest.raises(NotFound, match="missing/key") as info:
        case.backend.read("missing/key")
    assert isinstance(info.value, KeyError)


def test_a_folder_of_keys_is_not_a_key(case: Case) -> None:
    case.backend.write("dir/inner", b"1")
    assert case.backend.exists("dir") is False
    assert case.backend.delete("dir") is False
    with pytest.raises(NotFound):
        case.backend.read("dir")
    with pytest.raises(InvalidArgument, match="folder"):
        case.backend.write("dir", b"2")
    assert case.backend.read("dir/inner") == b"1"


@pytest.mark.parametrize(
    ("first", "second"),
    [("a", "a/b"), ("a", "a/b/c"), ("a/b", "a"), ("a/b/c", "a")],
    ids=["blob-then-child", "blob-then-grandchild", "child-then-blob", "grandchild-then-blob"],
)
def test_a_key_and_a_folder_of_keys_cannot_share_a_name(
    case: Case, first: str, second: str
) -> None:
    assert case.backend.write(first, b"1") is True
    with pytest.raises(InvalidArgument, match="folder") as info:
        case.backend.write(second, b"2")
    assert repr(second) in str(info.value)
    assert case.backend.exists(second) is False
    assert case.backend.read(first) == b"1"
    assert list(case.backend.list_keys()) == [first]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_by_every_method(case: Case, key: str) -> None:
    with pytest.raises(InvalidArgument):
        case.backend.read(key)
    with pytest.raises(InvalidArgument):
        case.backend.write(key, b"x")
    with pytest.raises(InvalidArgument):
        case.backend.exists(key)
    with pytest.raises(InvalidArgument):
        case.backend.delete(key)
    assert list(case.backend.list_keys()) == []


@pytest.mark.parametrize("prefix", ["/a", "../", "a//", "a/../", "a b", ".tmp-x/"])
def test_bad_prefixes_are_refused(case: Case, prefix: str) -> None:
    with pytest.raises(InvalidArgument):
        case.backend.list_keys(prefix)


def test_non_string_key_is_refused(case: Case) -> None:
    with pytest.raises(InvalidArgument, match="must be a str"):
        case.backend.read(b"key")  # type: ignore[arg-type]


def test_empty_blob(case: Case) -> None:
    assert case.backend.write("empty", b"") is True
    assert case.backend.exists("empty") is True
    assert case.backend.read("empty") == b""
    assert list(case.backend.list_keys()) == ["empty"]
    assert case.backend.write("empty", b"not empty") is False
    assert case.backend.read("empty") == b""


def test_large_blob(case: Case) -> None:
    data = os.urandom(5 * 1024 * 1024 + 7)
    assert case.backend.write("large/blob", data) is True
    assert case.backend.read("large/blob") == data
    assert case.raw_read("large/blob") == data


def test_url_names_the_location(case: Case, memory_root: str, tmp_path: Path) -> None:
    url = case.backend.url
    assert isinstance(url, str)
    assert str(tmp_path / "blobs") in url or memory_root in url


def test_closed_backend_refuses_work(case: Case) -> None:
    case.backend.write("k", b"v")
    case.backend.close()
    case.backend.close()  # idempotent
    with pytest.raises(StoreUnavailable, match="closed"):
        case.backend.read("k")
    with pytest.raises(StoreUnavailable, match="closed"):
        case.backend.write("k2", b"v")
    with pytest.raises(StoreUnavailable, match="closed"):
        case.backend.exists("k")
    with pytest.raises(StoreUnavailable, match="closed"):
        case.backend.delete("k")
    with pytest.raises(StoreUnavailable, match="closed"):
        case.backend.list_keys()


# -- CachingBackend specifics ---------------------------------------------------------------


@pytest.fixture
def cached(tmp_path: Path, memory_root: str) -> Iterator[CachingBackend]:
    backend = CachingBackend(
        FsspecBackend(f"memory://{memory_root}"), LocalBackend(tmp_path / "cache")
    )
    yield backend
    backend.close()


def test_caching_read_fills_the_cache(cached: CachingBackend) -> None:
    cached.remote.write("blobs/aa/x", b"remote bytes")
    assert cached.cache.exists("blobs/aa/x") is False
    assert cached.read("blobs/aa/x") == b"remote bytes"
    assert cached.cache.read("blobs/aa/x") == b"remote bytes"


def test_caching_read_is_served_from_the_cache(cached: CachingBackend) -> None:
    cached.write("k", b"v")
    cached.remote.delete("k")
    # Blobs are immutable: the cached copy is still the blob's bytes.
    assert cached.read("k") == b"v"
    assert cached.exists("k") is True


def test_caching_write_goes_to_remote_and_cache(cached: CachingBackend) -> None:
    assert cached.write("k", b"v") is True
    assert cached.remote.read("k") == b"v"
    assert cached.cache.read("k") == b"v"


def test_caching_write_answers_for_the_remote(cached: CachingBackend) -> None:
    cached.cache.write("only-cached", b"v")
    # The remote lacks it, so the write stores it there and says so.
    assert cached.write("only-cached", b"v") is True
    assert cached.remote.read("only-cached") == b"v"
    assert list(cached.list_keys()) == ["only-cached"]


def test_caching_survives_a_broken_cache(tmp_path: Path, memory_root: str) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_bytes(b"")
    backend = CachingBackend(FsspecBackend(f"memory://{memory_root}"), LocalBackend(not_a_folder))
    assert backend.write("k", b"v") is True
    assert backend.read("k") == b"v"
    assert backend.remote.read("k") == b"v"
