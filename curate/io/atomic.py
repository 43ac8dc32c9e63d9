"""Atomic writes: write to a temp name beside the target, fsync, rename.

A killed run never leaves a partial file under a final name; temp names carry `.tmp-` so a
resumed run (and `curate` cleanup) can tell them apart and remove them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import Iterator

import orjson

from curate.errors import disk_full_error

TMP_MARK = ".tmp-"
TMP_NAME = re.compile(r".+\.tmp-[0-9]+$")  # exactly what tmp_path makes: NAME.tmp-<pid>


_DEFERRED: list[tuple[Path, Path]] | None = None  # inside `deferred_renames`: (temp, final) pairs to sync and rename at its end


class TempFileVanished(OSError):
    """The temp file of an atomic write disappeared before its rename (someone else deleted it)."""


def tmp_path(path: Path) -> Path:
    return path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path; on success rename it to `path` (after an fsync when `durable`), on error remove it.

    The body must create the temp file. If it is gone at the end, something else deleted it (another
    process cleaning the folder): that is an error, never a silently skipped output.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    deferred = False
    try:
        yield tmp
        if durable and _DEFERRED is not None:  # synced with the others and renamed when `deferred_renames` ends
            if not tmp.exists():
                raise TempFileVanished(f"{tmp} vanished before it could be renamed to {path.name}: another process deleted it "
                                       "(two runs writing one run directory?)")
            _DEFERRED.append((tmp, path))
            deferred = True
            return
        try:
            fh = open(tmp, "rb")
        except FileNotFoundError:
            raise TempFileVanished(f"{tmp} vanished before it could be renamed to {path.name}: another process deleted it "
                                   "(two runs writing one run directory?)") from None
        with fh:
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # out of space while writing `path`: a clear error naming it, not a traceback
        if isinstance(exc, TempFileVanished):
            raise
        full = disk_full_error(exc, str(path))
        if full is None:
            raise
        raise full from None
    finally:
        if not deferred and tmp.exists():
            tmp.unlink()


def _syncfs(folder: Path) -> bool:
    """Flush the file system holding `folder` (Linux syncfs); False where that call is unavailable."""
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        return fn(fd) == 0
    finally:
        os.close(fd)


@contextlib.contextmanager
def deferred_renames() -> Iterator[None]:
    """Inside this block, durable `atomic_path` writes are not fsynced and renamed one by one: at the
    end one file-system sync (syncfs) makes them all durable, then each is renamed. Small files' packs
    write thousands of small outputs, and one sync is far cheaper than an fsync each. On an error
    nothing is renamed and every pending temp file is removed. Nested blocks join the outer one."""
    global _DEFERRED
    if _DEFERRED is not None:
        yield
        return
    _DEFERRED = pending = []
    try:
        yield
        _DEFERRED = None
        if pending and not _syncfs(pending[0][0].parent):
            for tmp, _ in pending:
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
        for tmp, path in pending:
            os.replace(tmp, path)
        pending.clear()
    except OSError as exc:
        full = disk_full_error(exc, str(pending[0][1]) if pending else "")
        if full is None:
            raise
        raise full from None
    finally:
        _DEFERRED = None
        for tmp, _ in pending:
            if tmp.exists():
                tmp.unlink()


def write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    with atomic_path(path, durable) as tmp:
        tmp.write_bytes(data)


def write_if_changed(path: str | os.PathLike, data: bytes) -> bool:
    """Write `data` unless the file already holds exactly these bytes (its mtime then stays, so what
    fingerprints the run directory by size and mtime sees no change); True when written."""
    try:
        if os.path.getsize(path) == len(data) and Path(path).read_bytes() == data:
            return False
    except OSError:
        pass
    write_bytes(path, data)
    return True


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj, durable: bool = True) -> None:
    """Deterministic JSON (sorted keys, indented) so reruns are byte-identical."""
    write_bytes(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY) + b"\n", durable)


def read_json(path: str | os.PathLike):
    return orjson.loads(Path(path).read_bytes())


def read_json_dict(path: str | os.PathLike) -> dict:
    """A JSON object kept to save work (a cache): {} when the file is missing, unreadable or not an object."""
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remove_stale_tmp(root: str | os.PathLike, *, lock=None) -> int:
    """Delete temp files a killed run left under `root` (only names `tmp_path` makes); returns how many.

    Only safe while no other process writes under `root`: pass the held `RunLock` of the run
    directory (curate.io.runlock), which proves that no other run is live there.
    """
    if lock is None or not lock.held:
        raise RuntimeError("remove_stale_tmp needs the held run-directory lock: another run may be writing these files")
    n = 0
    for p in Path(root).rglob(f"*{TMP_MARK}*"):
        if TMP_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink():
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
