"""How a worker's output becomes log lines (``flowtrail.runtime.output.OutputPipes``): a line
longer than ``MAX_LINE_BYTES`` is cut into pieces, never inside a character."""

from __future__ import annotations

import os
import threading

import pytest

from flowtrail.runtime.output import MAX_LINE_BYTES, OutputPipes


def _lines_of(data: bytes) -> list[str]:
    """What the reading end makes of ``data`` written on the stdout pipe."""
    pipes = OutputPipes()
    out_w = pipes.write_fds[0]
    writer = threading.Thread(target=lambda: (os.write(out_w, data), os.close(out_w)))
    writer.start()  # a pipe holds 64 KiB: the write waits for the reads below
    lines: list[str] = []
    try:
        while pipes.fds and pipes.fds[0] in pipes.streams and writer.is_alive():
            lines += [text for stream, text, _ in pipes.read(pipes.fds[0]) if stream == "stdout"]
        writer.join()
        lines += [text for stream, text, _ in pipes.drain() if stream == "stdout"]
    finally:
        pipes.close()
    return lines


@pytest.mark.parametrize("width", [2, 3, 4])  # é, €, 🚀: 2, 3 and 4 bytes in UTF-8
def test_a_long_line_is_cut_between_characters(width: int) -> None:
    char = {2: "é", 3: "€", 4: "🚀"}[width]
    # One ASCII byte first, so that the limit falls inside a character.
    text = "x" + char * (2 * MAX_LINE_BYTES // width + 7)
    pieces = _lines_of(text.encode() + b"\nafter\n")
    assert pieces[-1] == "after"
    assert "".join(pieces[:-1]) == text  # nothing lost, nothing replaced
    assert all(len(piece.encode()) <= MAX_LINE_BYTES for piece in pieces)
    assert len(pieces) == 4  # 3 pieces of the long line, then the next


def test_bytes_that_are_not_utf8_are_cut_at_the_limit() -> None:
    data = b"\x80" * (MAX_LINE_BYTES + 10)
    pieces = _lines_of(data + b"\n")
    assert [len(p) for p in pieces] == [MAX_LINE_BYTES, 10]  # each byte one U+FFFD
