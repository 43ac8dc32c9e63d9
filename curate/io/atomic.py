"""Atomic writes: write to a temp name beside the target, fsync, rename.

A killed run never leaves a partial file under a final name; temp names carry `.tmp-` so a
resumed run (and `curate` cleanup) can tell them apart and remove them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Iterator

import orjson

from curate.errors import disk_full_error

TMP_MARK = ".tmp-"


def tmp_path(path: Path) -> Path:
    return path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path; on success rename it to `path`, on error remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    try:
        yield tmp
        if tmp.exists():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    except OSError as exc:  # out of space while writing `path`: a clear error naming it, not a traceback
        full = disk_full_error(exc, str(path))
        if full is None:
            raise
        raise full from None
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj) -> None:
    """Deterministic JSON (sorted keys, indented) so reruns are byte-identical."""
    write_bytes(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY) + b"\n")


def read_json(path: str | os.PathLike):
    return orjson.loads(Path(path).read_bytes())


def remove_stale_tmp(root: str | os.PathLike) -> int:
    """Delete temp files left by a killed run under `root`; returns how many."""
    n = 0
    for p in Path(root).rglob(f"*{TMP_MARK}*"):
        if p.is_file():
            p.unlink()
            n += 1
    return n


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
