"""Executors: a local process pool (default) and Ray; one task per input file, completion markers."""

from __future__ import annotations

from pathlib import Path

from curate.errors import ConfigError
from curate.exec.base import Executor, Task


def make_executor(name: str, run_dir: Path, workers: int = 1, progress: bool = True, address: str | None = None, retries: int = 0) -> Executor:
    """`local` (a process pool, the default) or `ray` (a local or existing Ray cluster)."""
    if name == "local":
        from curate.exec.local import LocalExecutor

        return LocalExecutor(run_dir, workers=workers, progress=progress, retries=retries)
    if name == "ray":
        from curate.exec.ray_executor import RayExecutor

        return RayExecutor(run_dir, workers=workers, progress=progress, address=address, retries=retries)
    raise ConfigError(f"unknown executor `{name}`", fix="use --executor local or --executor ray")


__all__ = ["Executor", "Task", "make_executor"]
