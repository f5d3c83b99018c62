"""``flowtrail logs`` and ``flowtrail artifact get`` on real runs: the lines and the values the
client reads, written by the rule the reference gives."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from .conftest import History, assert_one_line_error


def test_logs_of_each_stream_and_attempt(history: History) -> None:
    task = history.flow()["1"]["start"].task
    assert task is not None
    out = history.cli("logs", task.pathspec)
    assert out.exit_code == 0, out.output
    assert out.stdout == task.stdout + "\n" == "hello from start\n"
    err = history.cli("logs", task.pathspec, "--stderr", "--attempt", "0")
    assert err.stdout == task.stderr + "\n" == "warning from start\n"
    missing = assert_one_line_error(history.cli("logs", task.pathspec, "--attempt", "1"))
    assert "has no attempt 1" in missing
    # --follow on a finished task prints what there is and returns.
    assert history.cli("logs", task.pathspec, "--follow").stdout == "hello from start\n"


def test_artifact_get_writes_bytes_and_text_raw_and_other_values_as_repr_or_pickle(
    history: History, tmp_path: Path
) -> None:
    task = history.flow()["1"]["start"].task
    assert task is not None
    base = task.pathspec
    raw = history.cli("artifact", "get", f"{base}/raw")
    assert raw.exit_code == 0, raw.output
    assert raw.stdout_bytes == b"\x00\x01binary\xff"
    assert history.cli("artifact", "get", f"{base}/text").stdout == "line one\nline two"
    assert history.cli("artifact", "get", f"{base}/table").stdout == "{'a': [1, 2], 'b': None}\n"
    assert history.cli("artifact", "get", f"{base}/score").stdout == f"{task.data.score!r}\n"

    for name, read in [
        ("raw", Path.read_bytes),
        ("text", lambda p: p.read_text(encoding="utf-8")),
        ("table", lambda p: pickle.loads(p.read_bytes())),
        ("score", lambda p: pickle.loads(p.read_bytes())),
    ]:
        target = tmp_path / f"{name}.out"
        result = history.cli("artifact", "get", f"{base}/{name}", "--output", str(target))
        assert result.exit_code == 0, result.output
        assert result.stdout == ""
        assert re.fullmatch(
            rf"wrote \d+ bytes \(\w+\) to {re.escape(str(target))}\n", result.stderr
        )
        assert read(target) == task.data[name]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("logs", "ReportFlow/1/start"), "expected 'Flow/run_id/step/task_id', got"),
        (("artifact", "get", "ReportFlow/1"), "expected 'Flow/run_id/step/task_id/artifact'"),
        (("artifact", "get", "ReportFlow/1/start/1/nope"), "does not exist"),
        (("logs", "ReportFlow/1/start/1", "--attempt", "-1"), None),
    ],
)
def test_bad_input(history: History, args: tuple[str, ...], expected: str | None) -> None:
    result = history.cli(*args)
    if expected is None:  # a usage error, reported by click
        assert result.exit_code == 2
    else:
        assert expected in assert_one_line_error(result)
