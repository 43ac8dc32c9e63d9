"""Watchdog for the private Ray instance `curate run --executor ray` starts: it must not outlive the driver.

`ray.init()` without an address starts a GCS server, a raylet, a dashboard agent and a runtime-env
agent, and the raylet starts worker processes. When the driver is killed (SIGKILL, the OOM killer),
some of them keep running (`ray::DashboardAgent`, `ray::RuntimeEnvAgent`, ~200 MB). So the executor
marks the processes `ray.init()` starts with an environment variable holding a random token, and
starts this watchdog in its own session. While the driver lives, the watchdog records (pid and start
time) every marked process and everything below it in the process tree: the agents rename
themselves and overwrite their environment, so they are known by being the raylet's children. When
the driver is gone, or when the executor asks for a final sweep after `ray.shutdown()` (SIGUSR1),
it sends SIGTERM to every recorded process still alive (same pid, same start time), every marked
one and their descendants, SIGKILL to those left a few seconds later, and exits. Linux only (it
reads `/proc`); elsewhere it exits at once and leaves clean-up to Ray.

    python -m curate.exec.ray_watchdog DRIVER_PID DRIVER_START_TICKS TOKEN
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

ENV = "CURATE_RAY_OWNER"
PROC = Path("/proc")


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state, ppid, ..., start time at [19])."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_ticks(pid: int) -> str | None:
    """A live process's start time (clock ticks since boot), to tell it from a reused pid; None when
    it is gone or a zombie."""
    f = _stat(pid)
    return f[19] if f and f[0] != "Z" else None


def _pids() -> list[int]:
    return [int(d.name) for d in PROC.iterdir() if d.name.isdigit()]


def marked(token: str) -> list[int]:
    """Pids of live processes whose environment carries `ENV=token` (this process excluded)."""
    needle = f"{ENV}={token}".encode()
    me, out = os.getpid(), []
    for pid in _pids():
        if pid == me:
            continue
        try:
            env = (PROC / str(pid) / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            out.append(pid)
    return out


def ray_processes(token: str) -> dict[int, str]:
    """pid -> start ticks of the marked processes and all their descendants (this process excluded)."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        f = _stat(pid)
        if f:
            children.setdefault(int(f[1]), []).append(pid)
    found, todo = {}, list(marked(token))
    while todo:
        pid = todo.pop()
        ticks = start_ticks(pid)
        if pid == os.getpid() or pid in found or ticks is None:
            continue
        found[pid] = ticks
        todo.extend(children.get(pid, ()))
    return found


def sweep(token: str, known: dict[int, str], grace: float = 3.0) -> int:
    """SIGTERM the Ray processes (recorded, marked, or below a marked one), SIGKILL the ones left
    after `grace` seconds; returns how many were signalled."""
    victims = set()

    def alive() -> list[int]:
        live = {pid for pid, ticks in known.items() if start_ticks(pid) == ticks}
        return sorted(live | set(ray_processes(token)))

    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 1.0), (signal.SIGKILL, 0.0)):
        pids = alive()
        for pid in pids:
            try:
                os.kill(pid, sig)
                victims.add(pid)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = alive()
    return len(victims)


def main(argv: list[str]) -> int:
    driver, ticks, token = int(argv[0]), argv[1], argv[2]
    if not PROC.is_dir():
        return 0
    asked = []
    signal.signal(signal.SIGUSR1, lambda *_: asked.append(True))  # the executor's "sweep now and exit"
    known: dict[int, str] = {}
    while not asked and start_ticks(driver) == ticks:
        known.update(ray_processes(token))
        time.sleep(0.5)
    sweep(token, known)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
