"""The RSS of a process and of every process under it, sampled in a thread while a benchmark waits
for the process to end (psutil; a process that ends between listing and reading counts 0 bytes)."""

from __future__ import annotations

import threading
from typing import Callable

import psutil


class TreeSampler:
    """`with TreeSampler(pid, on_sample):` calls `on_sample(rss)` every `every` seconds, `rss` being
    the resident bytes of the process first, then of each of its descendants."""

    def __init__(self, pid: int, on_sample: Callable[[list[int]], None], every: float = 0.2):
        self.pid, self.on_sample, self.every = pid, on_sample, every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        root = psutil.Process(self.pid)
        while not self._done.is_set():
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            rss = []
            for p in procs:
                try:
                    rss.append(p.memory_info().rss)
                except psutil.NoSuchProcess:
                    rss.append(0)
            self.on_sample(rss)
            self._done.wait(self.every)
