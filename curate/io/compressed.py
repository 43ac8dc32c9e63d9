"""Compressed inputs: streaming gzip/zstd readers, and telling a file named compressed that is not.

`open_maybe_compressed` picks the decoder from the file name; the zstd decoder raises on a truncated
last frame (zstandard's own stream reader ends quietly). `misnamed_compression` spots a plain file
named `.gz`/`.zst`, so a reader can report it with its real record count instead of one "corrupt" record.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import zstandard

CHUNK = 1 << 20


def open_maybe_compressed(path: Path) -> io.BufferedIOBase:
    name = path.name.lower()
    raw = open(path, "rb")
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if name.endswith((".zst", ".zstd")):
        return io.BufferedReader(_ZstdRaw(raw), CHUNK)
    return io.BufferedReader(raw, CHUNK)


class _ZstdRaw(io.RawIOBase):
    """Streaming zstd decoding (multi-frame) that raises on a truncated last frame.

    zstandard's stream_reader ends quietly on truncation; a truncated file must be reported.
    """

    def __init__(self, raw):
        self.raw = raw
        self.dctx = zstandard.ZstdDecompressor()
        self.obj = self.dctx.decompressobj()
        self.buf = b""
        self.in_frame = False

    def readable(self):
        return True

    def readinto(self, b):
        while not self.buf:
            chunk = self.raw.read(CHUNK)
            if not chunk:
                if self.in_frame:
                    raise EOFError("zstd stream ended before the end of its frame (truncated file)")
                return 0
            while chunk:
                self.in_frame = True
                self.buf += self.obj.decompress(chunk)
                if self.obj.eof:
                    chunk = self.obj.unused_data
                    self.obj = self.dctx.decompressobj()
                    self.in_frame = False
                else:
                    chunk = b""
        n = min(len(b), len(self.buf))
        b[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n

    def close(self):
        self.raw.close()
        super().close()


# what compressed files start with: a file whose name says compressed but whose bytes do not is
# reported with its real record count (every non-blank line), not as one "corrupt" record
MAGIC = {".gz": (b"\x1f\x8b", "gzip"), ".zst": (b"\x28\xb5\x2f\xfd", "zstd"), ".zstd": (b"\x28\xb5\x2f\xfd", "zstd")}


def misnamed_compression(path: Path) -> tuple[str, str] | None:
    """(extension, kind) when `path` is named as gzip/zstd but does not start like one."""
    ext = next((e for e in MAGIC if path.name.lower().endswith(e)), None)
    if ext is None:
        return None
    magic, kind = MAGIC[ext]
    with open(path, "rb") as fh:
        head = fh.read(len(magic))
    # a shorter file that starts like the format is a truncated one: the decompressor reports it
    return (ext, kind) if head and head != magic[:len(head)] else None


def count_records(path: Path) -> int:
    """Non-blank lines of an (uncompressed) file, read in blocks."""
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                n += 1
    return n


COMPRESSED_SUFFIXES = tuple(MAGIC)
