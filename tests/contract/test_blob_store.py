"""The content-addressed BlobStore over every backend: addressing, dedup, compression, checks."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path

import fsspec
import pytest
import zstandard

from flowtrail.blobs import (
    BlobBackend,
    BlobRef,
    BlobStore,
    CachingBackend,
    FsspecBackend,
    LocalBackend,
    blob_key,
)
from flowtrail.errors import BlobCorrupted, InvalidArgument, NotFound, StoreUnavailable

COMPRESSIBLE = b"flowtrail records every run. " * 1000


@dataclass
class Case:
    """A store under test and a way to replace stored bytes behind the backend's back."""

    store: BlobStore
    overwrite: Callable[[str, bytes], None]


@pytest.fixture
def memory_root() -> Iterator[str]:
    name = f"flowtrail-test-{uuid.uuid4().hex}"
    yield name
    fs = fsspec.filesystem("memory")
    if fs.exists(f"/{name}"):
        fs.rm(f"/{name}", recursive=True)


def _overwrite_file(backend: LocalBackend) -> Callable[[str, bytes], None]:
    def overwrite(key: str, data: bytes) -> None:
        path = backend.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return overwrite


def _overwrite_memory(root: str) -> Callable[[str, bytes], None]:
    fs = fsspec.filesystem("memory")
    return lambda key, data: fs.pipe_file(f"/{root}/{key}", data)


@pytest.fixture(params=["local", "fsspec-memory", "caching"])
def case(request: pytest.FixtureRequest, tmp_path: Path, memory_root: str) -> Iterator[Case]:
    backend: BlobBackend
    if request.param == "local":
        local = LocalBackend(tmp_path / "blobs")
        backend, overwrite = local, _overwrite_file(local)
    elif request.param == "fsspec-memory":
        backend = FsspecBackend(f"memory://{memory_root}")
        overwrite = _overwrite_memory(memory_root)
    else:
        cache = LocalBackend(tmp_path / "cache")
        backend = CachingBackend(FsspecBackend(f"memory://{memory_root}"), cache)
        in_remote, in_cache = _overwrite_memory(memory_root), _overwrite_file(cache)

        def overwrite(key: str, data: bytes) -> None:
            # Corrupt both copies: a cached read must not hide the corruption either.
            in_remote(key, data)
            in_cache(key, data)

    store = BlobStore(backend)
    yield Case(store, overwrite)
    store.close()


def test_sha_is_sha256_of_the_stored_bytes_and_key_layout(case: Case) -> None:
    ref = case.store.put(b"hello")
    key = f"blobs/{ref.sha[:2]}/{ref.sha}"
    assert blob_key(ref.sha) == key
    assert list(case.store.backend.list_keys()) == [key]
    stored = case.store.backend.read(key)
    assert stored == b"\x00hello"
    assert ref.sha == hashlib.sha256(stored).hexdigest()
    assert ref == BlobRef(sha=ref.sha, size=5, stored_size=6, compressed=False, created=True)
    assert case.store.get(ref.sha) == b"hello"
    assert case.store.has(ref.sha) is True


def test_blob_ref_is_frozen(case: Case) -> None:
    ref = case.store.put(b"x")
    with pytest.raises(FrozenInstanceError):
        ref.sha = "0" * 64  # type: ignore[misc]


def test_identical_data_is_stored_once(case: Case) -> None:
    first = case.store.put(COMPRESSIBLE)
    second = case.store.put(COMPRESSIBLE)
    assert first.created is True
    assert second.created is False
    assert second.sha == first.sha
    assert len(list(case.store.backend.list_keys())) == 1
    other = case.store.put(b"other")
    assert other.created is True
    assert len(list(case.store.backend.list_keys())) == 2


def test_compression_above_the_threshold(case: Case) -> None:
    ref = case.store.put(COMPRESSIBLE)
    assert ref.compressed is True
    assert ref.size == len(COMPRESSIBLE)
    assert ref.stored_size < ref.size
    stored = case.store.backend.read(blob_key(ref.sha))
    assert stored[:1] == b"\x01"
    assert len(stored) == ref.stored_size
    assert zstandard.ZstdDecompressor().decompress(stored[1:]) == COMPRESSIBLE
    assert case.store.get(ref.sha) == COMPRESSIBLE


def test_no_compression_below_the_threshold(case: Case) -> None:
    data = b"a" * 4095
    ref = case.store.put(data)
    assert ref.compressed is False
    assert case.store.backend.read(blob_key(ref.sha)) == b"\x00" + data
    at_threshold = case.store.put(b"a" * 4096)
    assert at_threshold.compressed is True


def test_incompressible_data_is_stored_raw(case: Case) -> None:
    data = os.urandom(50_000)
    ref = case.store.put(data)
    assert ref.compressed is False
    assert ref.stored_size == len(data) + 1
    assert case.store.get(ref.sha) == data


def test_compression_is_deterministic(case: Case, tmp_path: Path) -> None:
    elsewhere = BlobStore(LocalBackend(tmp_path / "elsewhere"))
    assert case.store.put(COMPRESSIBLE).sha == elsewhere.put(COMPRESSIBLE).sha


def test_empty_data(case: Case) -> None:
    ref = case.store.put(b"")
    assert (ref.size, ref.stored_size, ref.compressed) == (0, 1, False)
    assert case.store.get(ref.sha) == b""


def test_bytes_like_data_and_refused_str(case: Case) -> None:
    ref = case.store.put(bytearray(b"abc"))
    assert case.store.put(memoryview(b"abc")).sha == ref.sha
    with pytest.raises(InvalidArgument, match="got str"):
        case.store.put("abc")  # type: ignore[arg-type]


def test_corrupted_blob_is_refused(case: Case) -> None:
    ref = case.store.put(b"the right bytes")
    case.overwrite(blob_key(ref.sha), b"\x00the wrong bytes")
    with pytest.raises(BlobCorrupted) as info:
        case.store.get(ref.sha)
    wrong = hashlib.sha256(b"\x00the wrong bytes").hexdigest()
    assert ref.sha in str(info.value)
    assert f"hash to {wrong}" in str(info.value)


def test_another_valid_blob_under_the_key_is_refused(case: Case) -> None:
    ref = case.store.put(COMPRESSIBLE)
    other = case.store.put(b"another blob")
    case.overwrite(blob_key(ref.sha), case.store.backend.read(blob_key(other.sha)))
    with pytest.raises(BlobCorrupted, match=ref.sha):
        case.store.get(ref.sha)


def _plant(case: Case, stored: bytes) -> str:
    """Store ``stored`` under its own sha, as if a writer had produced it."""
    sha = hashlib.sha256(stored).hexdigest()
    assert case.store.backend.write(blob_key(sha), stored) is True
    return sha


def test_truncated_zstd_frame_is_refused(case: Case) -> None:
    frame = zstandard.ZstdCompressor(level=3).compress(COMPRESSIBLE)
    sha = _plant(case, b"\x01" + frame[:-8])
    with pytest.raises(BlobCorrupted, match="zstandard"):
        case.store.get(sha)


def test_bytes_after_the_zstd_frame_are_refused(case: Case) -> None:
    frame = zstandard.ZstdCompressor(level=3).compress(COMPRESSIBLE)
    sha = _plant(case, b"\x01" + frame + b"junk")
    with pytest.raises(BlobCorrupted, match="zstandard"):
        case.store.get(sha)


def test_garbage_zstd_payload_is_refused(case: Case) -> None:
    sha = _plant(case, b"\x01not a zstandard frame at all")
    with pytest.raises(BlobCorrupted, match=sha):
        case.store.get(sha)


def test_unknown_header_is_refused(case: Case) -> None:
    sha = _plant(case, b"\x07payload")
    with pytest.raises(BlobCorrupted, match="header"):
        case.store.get(sha)


def test_empty_stored_bytes_are_refused(case: Case) -> None:
    sha = _plant(case, b"")
    with pytest.raises(BlobCorrupted, match="header"):
        case.store.get(sha)


def test_missing_blob_is_not_found(case: Case) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert case.store.has(sha) is False
    with pytest.raises(NotFound, match=sha):
        case.store.get(sha)


@pytest.mark.parametrize(
    "sha",
    ["", "abc", "A" * 64, "g" * 64, "0" * 63, "0" * 65, "../" + "0" * 61, 12345],
)
def test_bad_sha_is_invalid(case: Case, sha: str) -> None:
    with pytest.raises(InvalidArgument, match="64 lowercase hexadecimal") as info:
        case.store.get(sha)
    assert repr(sha) in str(info.value)
    with pytest.raises(InvalidArgument):
        case.store.has(sha)
    with pytest.raises(InvalidArgument):
        blob_key(sha)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"compress_threshold": -1}, "compress_threshold"),
        ({"compress_threshold": 1.5}, "compress_threshold"),
        ({"level": 0}, "level"),
        ({"level": 23}, "level"),
        ({"level": True}, "level"),
    ],
)
def test_bad_store_options(tmp_path: Path, options: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        BlobStore(LocalBackend(tmp_path), **options)  # type: ignore[arg-type]


def test_custom_threshold_and_level(tmp_path: Path) -> None:
    eager = BlobStore(LocalBackend(tmp_path / "a"), compress_threshold=0, level=19)
    assert eager.put(b"a" * 100).compressed is True
    never = BlobStore(LocalBackend(tmp_path / "b"), compress_threshold=10**12)
    assert never.put(COMPRESSIBLE).compressed is False


def test_store_is_a_context_manager(tmp_path: Path) -> None:
    with BlobStore(LocalBackend(tmp_path)) as store:
        sha = store.put(b"x").sha
    with pytest.raises(StoreUnavailable, match="closed"):
        store.get(sha)


# -- over a CachingBackend: a corrupted cached copy is replaced from the remote -------------


@pytest.fixture
def cached_store(tmp_path: Path, memory_root: str) -> Iterator[BlobStore]:
    store = BlobStore(
        CachingBackend(FsspecBackend(f"memory://{memory_root}"), LocalBackend(tmp_path / "cache"))
    )
    yield store
    store.close()


def _cache_of(store: BlobStore) -> LocalBackend:
    backend = store.backend
    assert isinstance(backend, CachingBackend)
    assert isinstance(backend.cache, LocalBackend)
    return backend.cache


@pytest.mark.parametrize("data", [b"the right bytes", COMPRESSIBLE])
def test_corrupted_cache_copy_is_read_again_from_the_remote(
    cached_store: BlobStore, data: bytes
) -> None:
    ref = cached_store.put(data)
    key = blob_key(ref.sha)
    cache = _cache_of(cached_store)
    good = cache.read(key)
    _overwrite_file(cache)(key, b"\x00the wrong bytes")

    assert cached_store.get(ref.sha) == data
    assert cache.read(key) == good  # repaired
    assert cached_store.get(ref.sha) == data


def test_corrupted_cache_and_remote_copies_are_refused(
    cached_store: BlobStore, memory_root: str
) -> None:
    ref = cached_store.put(b"the right bytes")
    key = blob_key(ref.sha)
    cache = _cache_of(cached_store)
    _overwrite_memory(memory_root)(key, b"\x00bad remote bytes")
    _overwrite_file(cache)(key, b"\x00bad cached bytes")

    for _ in range(2):
        with pytest.raises(BlobCorrupted, match=ref.sha) as info:
            cached_store.get(ref.sha)
        bad = hashlib.sha256(b"\x00bad remote bytes").hexdigest()
        assert f"hash to {bad}" in str(info.value)
    # The store never deletes from the remote: the evidence stays where it is.
    backend = cached_store.backend
    assert isinstance(backend, CachingBackend)
    assert backend.remote.read(key) == b"\x00bad remote bytes"


def test_corrupted_cache_copy_of_a_blob_gone_from_the_remote_is_not_found(
    cached_store: BlobStore,
) -> None:
    ref = cached_store.put(b"the right bytes")
    key = blob_key(ref.sha)
    backend = cached_store.backend
    assert isinstance(backend, CachingBackend)
    backend.remote.delete(key)
    _overwrite_file(_cache_of(cached_store))(key, b"\x00the wrong bytes")

    with pytest.raises(NotFound, match=ref.sha):
        cached_store.get(ref.sha)
    assert backend.cache.exists(key) is False


def test_caching_evict_drops_the_cached_copy_only(cached_store: BlobStore) -> None:
    ref = cached_store.put(b"x")
    key = blob_key(ref.sha)
    backend = cached_store.backend
    assert isinstance(backend, CachingBackend)
    assert backend.evict(key) is True
    assert backend.evict(key) is False
    assert backend.cache.exists(key) is False
    assert backend.remote.read(key) == b"\x00x"
    with pytest.raises(InvalidArgument):
        backend.evict("../x")
