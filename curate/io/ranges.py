"""Where the parts of a split input start and end: byte ranges of a plain line file cut at line
ends, runs of Parquet row groups, and how many parts a file can be cut into at most.

Each part of a split file reads one contiguous range, so no byte is read (or decompressed) twice;
parts concatenated in order give exactly the whole file's records and line numbers.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from curate.io.compressed import CHUNK, COMPRESSED_SUFFIXES


def _next_line_start(fh, pos: int, size: int) -> int:
    """The first line start at or after `pos` (a position just after a newline, or the file's end)."""
    if pos <= 0:
        return 0
    if pos >= size:
        return size
    fh.seek(pos - 1)
    at = pos - 1
    while True:
        block = fh.read(CHUNK)
        if not block:
            return size
        nl = block.find(b"\n")
        if nl >= 0:
            return at + nl + 1
        at += len(block)


def line_range(path: Path, part: int, parts: int) -> tuple[int, int, int]:
    """Part `part` of `parts` of a plain (uncompressed) line file: (start byte, end byte, lines before
    start). Cuts fall at the first line end at or after each `size * k / parts`, so every line belongs
    to exactly one part; the lines before the range are counted by scanning its prefix for newlines
    (no parsing, no decompression), so line numbers stay those of the whole file."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        start = _next_line_start(fh, size * part // parts, size)
        end = _next_line_start(fh, size * (part + 1) // parts, size)
        before = 0
        fh.seek(0)
        left = start
        while left > 0:
            block = fh.read(min(CHUNK, left))
            if not block:
                break
            before += block.count(b"\n")
            left -= len(block)
    return start, end, before


def row_group_range(num_row_groups: int, part: int, parts: int) -> range:
    """The row groups part `part` of `parts` of a Parquet file reads: a contiguous run of them."""
    return range(num_row_groups * part // parts, num_row_groups * (part + 1) // parts)


class RangeReader:
    """`readline` over bytes [start, end) of a file (a range that ends at a line end or the file's end)."""

    def __init__(self, path: Path, start: int, end: int):
        self.fh = open(path, "rb", buffering=CHUNK)
        self.fh.seek(start)
        self.left = end - start

    def readline(self, limit: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        line = self.fh.readline(self.left if limit < 0 else min(limit, self.left))
        self.left -= len(line)
        return line

    def close(self) -> None:
        self.fh.close()


def jsonl_max_parts(path: Path) -> int:
    """A compressed file is read whole (a byte range of it cannot be decoded on its own): one part."""
    return 1 if path.name.lower().endswith(COMPRESSED_SUFFIXES) else 1 << 30


def parquet_max_parts(path: Path) -> int:
    """One part per row group at most."""
    try:
        return max(1, pq.read_metadata(path).num_row_groups)
    except Exception:  # unreadable: read whole, so the reader reports it once
        return 1
