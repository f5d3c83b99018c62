"""LocalBackend specifics: atomic publication, killed writers, racing processes, errors."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowtrail.blobs import LocalBackend
from flowtrail.errors import InvalidArgument, NotFound, StoreUnavailable


def _temp_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob(".tmp-*") if path.is_file())


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


KILLED_WRITER = """
    import os, sys, time
    from flowtrail.blobs import LocalBackend

    def link_never_returns(src, dst, *args, **kwargs):
        # The temporary file is fully written; the writer is killed before publishing it.
        print("about to link", flush=True)
        time.sleep(3600)

    os.link = link_never_returns
    LocalBackend(sys.argv[1]).write("a/key", b"x" * 100_000)
"""


def test_a_writer_killed_before_the_link_leaves_no_blob(tmp_path: Path) -> None:
    writer = _python(KILLED_WRITER, str(tmp_path))
    assert writer.stdout is not None
    assert writer.stdout.readline() == "about to link\n"
    os.kill(writer.pid, signal.SIGKILL)
    assert writer.wait() == -signal.SIGKILL
    writer.stdout.close()
    assert writer.stdin is not None
    writer.stdin.close()

    leftovers = _temp_files(tmp_path)
    assert len(leftovers) == 1
    assert leftovers[0].parent == tmp_path / "a"
    assert leftovers[0].stat().st_size == 100_000

    backend = LocalBackend(tmp_path)
    assert list(backend.list_keys()) == []
    assert list(backend.list_keys("a/")) == []
    assert backend.exists("a/key") is False
    with pytest.raises(NotFound):
        backend.read("a/key")
    # The key is still free: the next writer stores it.
    assert backend.write("a/key", b"complete") is True
    assert backend.read("a/key") == b"complete"
    assert list(backend.list_keys()) == ["a/key"]


def test_temp_files_are_never_keys(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    backend.write("blobs/ab/abc", b"1")
    (tmp_path / ".tmp-0123").write_bytes(b"partial")
    (tmp_path / "blobs" / "ab" / ".tmp-4567").write_bytes(b"partial")
    (tmp_path / "blobs" / ".tmp-dir").mkdir()
    (tmp_path / "blobs" / ".tmp-dir" / "inner").write_bytes(b"partial")
    assert list(backend.list_keys()) == ["blobs/ab/abc"]
    assert list(backend.list_keys("blobs/ab/")) == ["blobs/ab/abc"]


def test_a_successful_write_leaves_no_temp_file(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    assert backend.write("a/b", b"data") is True
    assert backend.write("a/b", b"again") is False
    assert _temp_files(tmp_path) == []


RACING_WRITER = """
    import json, sys
    from flowtrail.blobs import LocalBackend

    root, me, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    backend = LocalBackend(root)
    payload = bytes([me]) * 300_000
    print("ready", flush=True)
    sys.stdin.readline()  # every writer starts at once
    print(json.dumps([backend.write(f"race/k{i}", payload) for i in range(keys)]), flush=True)
"""


def test_racing_processes_store_each_key_exactly_once(tmp_path: Path) -> None:
    writers, keys = 6, 40
    procs = [_python(RACING_WRITER, str(tmp_path), str(me), str(keys)) for me in range(writers)]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        assert proc.returncode == 0
        results.append(json.loads(out))

    backend = LocalBackend(tmp_path)
    for i in range(keys):
        winners = [me for me in range(writers) if results[me][i]]
        assert len(winners) == 1, f"key k{i} was stored by {winners}"
        # The bytes are intact and are exactly the winner's.
        assert backend.read(f"race/k{i}") == bytes([winners[0]]) * 300_000
    assert _temp_files(tmp_path) == []
    assert sorted(backend.list_keys()) == sorted(f"race/k{i}" for i in range(keys))


def test_fallback_without_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_hard_links(src: object, dst: object, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", str(dst))

    monkeypatch.setattr(os, "link", no_hard_links)
    backend = LocalBackend(tmp_path)
    assert backend.write("k", b"first") is True
    assert backend.write("k", b"second") is False
    assert backend.read("k") == b"first"
    assert _temp_files(tmp_path) == []


def test_other_link_errors_are_store_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(src: object, dst: object, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(os, "link", disk_full)
    backend = LocalBackend(tmp_path)
    with pytest.raises(StoreUnavailable, match="No space left"):
        backend.write("k", b"data")
    monkeypatch.undo()
    assert backend.exists("k") is False
    assert _temp_files(tmp_path) == []


def test_durable_writes(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path, durable=True)
    assert backend.write("a/b/c", b"durable") is True
    assert backend.write("a/b/c", b"other") is False
    assert backend.read("a/b/c") == b"durable"


def test_root_is_created_on_first_write(tmp_path: Path) -> None:
    root = tmp_path / "not" / "yet"
    backend = LocalBackend(root)
    assert list(backend.list_keys()) == []
    assert backend.exists("k") is False
    assert not root.exists()
    backend.write("k", b"v")
    assert (root / "k").read_bytes() == b"v"


def test_a_root_that_is_a_file_is_store_unavailable(tmp_path: Path) -> None:
    root = tmp_path / "file"
    root.write_bytes(b"")
    backend = LocalBackend(root)
    with pytest.raises(StoreUnavailable, match=str(root)):
        backend.write("k", b"v")
    with pytest.raises(NotFound):
        backend.read("k")


def test_a_key_under_a_blob_is_refused(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    backend.write("a", b"blob")
    with pytest.raises(InvalidArgument, match="'a'"):
        backend.write("a/b", b"nested")
    assert backend.read("a") == b"blob"


def test_url_and_path(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    assert backend.url == tmp_path.absolute().as_uri()
    assert backend.root == tmp_path.absolute()
    assert backend.path_for("x/y") == tmp_path.absolute() / "x" / "y"


def test_relative_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    backend = LocalBackend("store")
    monkeypatch.chdir("/")
    backend.write("k", b"v")
    assert (tmp_path / "store" / "k").read_bytes() == b"v"


@pytest.mark.parametrize("root", ["", 42, None])
def test_bad_root(root: object) -> None:
    with pytest.raises(InvalidArgument, match="folder path"):
        LocalBackend(root)  # type: ignore[arg-type]
