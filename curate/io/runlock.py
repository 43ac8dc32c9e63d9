"""One run at a time per run directory: `RUN/.curate.lock`.

The lock file holds who took it (pid, host, start time, command) so a refused run can name the
holder. Liveness is the kernel's: the holder keeps an exclusive `flock` on the file for as long as
it runs, so a lock left by a killed run on this host (kill -9, OOM) is taken over at once, and a
recycled pid is never mistaken for a live run. A lock file written by another host is respected
even when the flock is free (network file systems may not share flocks between hosts); the
message names the holder and how to clear it by hand.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from curate.errors import CurateError

LOCK_NAME = ".curate.lock"


class RunLocked(CurateError):
    """Another live run holds the run directory."""


def read_holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def describe(holder: dict) -> str:
    if not holder:
        return "another curate process (its lock file is still being written)"
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)) if isinstance(started, (int, float)) else "?"
    return f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, started {when}"


@dataclass
class RunLock:
    """Exclusive ownership of a run directory. Use as a context manager, or acquire()/release()."""

    run_dir: Path
    fd: int | None = None

    @property
    def path(self) -> Path:
        return Path(self.run_dir) / LOCK_NAME

    def acquire(self) -> "RunLock":
        Path(self.run_dir).mkdir(parents=True, exist_ok=True)
        for _ in range(20):  # retried only when the file was replaced under us
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                raise self._refusal(read_holder(self.path)) from None
            # we hold the flock on this inode; make sure it is still the file at the path
            # (a releasing run unlinks it; a racing run may have created a new one)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            holder = read_holder(self.path)
            if holder and not self._stale(holder):
                os.close(fd)
                raise self._refusal(holder)
            self._write(fd)
            self.fd = fd
            return self
        raise RunLocked("could not take the run-directory lock (it kept changing)", where=str(self.path),
                        fix="another curate run is starting in this directory; wait for it or use another --out")

    def _stale(self, holder: dict) -> bool:
        """We got the flock, so on a local file system the holder is gone. Where flock is not shared
        between hosts, a holder on another host may still be alive: respect it."""
        return holder.get("host") == socket.gethostname()

    def _write(self, fd: int) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": round(time.time(), 3),
                "command": " ".join(sys.argv)[:500]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode() + b"\n", 0)
        os.fsync(fd)

    def _refusal(self, holder: dict) -> RunLocked:
        return RunLocked(
            f"the run directory {self.run_dir} is in use by another curate run: {describe(holder)}",
            where=str(self.path),
            fix="wait for that run to finish, or write this run elsewhere (--out); if that process is gone "
                f"(e.g. its host died), delete {self.path} and rerun",
        )

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink()  # while still holding the flock: a waiting run then creates a fresh file
        except FileNotFoundError:
            pass
        os.close(self.fd)
        self.fd = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
