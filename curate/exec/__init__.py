"""Executors: where a stage's tasks run. One registry; `curate run --executor NAME` picks one.

    class MyExecutor(Executor):
        def _run(self, stage, tasks, desc, skipped):   # yield (task, result) as tasks finish
            ...

    register_executor("mine", MyExecutor)   # or "module:Class"; constructed as
                                            # Cls(run_dir, workers=, progress=, retries=, **options)

The project's own: `local` (a process pool, the default) and `ray` (a local or existing cluster).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.exec.base import Executor, Task
from curate.registry import Registry

EXECUTORS = Registry("executor")


def register_executor(name: str, target: Any, options: tuple[str, ...] = ()) -> Any:
    """`options`: extra keyword arguments the executor accepts (e.g. Ray's `address`)."""
    return EXECUTORS.register(name, target, options=tuple(options))


register_executor("local", "curate.exec.local:LocalExecutor", options=("inline_bytes",))
register_executor("ray", "curate.exec.ray_executor:RayExecutor", options=("address",))


def make_executor(name: str, run_dir: Path, workers: int = 1, progress: bool = True, retries: int = 0, **options: Any) -> Executor:
    entry = EXECUTORS.get(name)
    kwargs = {k: v for k, v in options.items() if k in entry.options and v is not None}
    return entry.load()(run_dir, workers=workers, progress=progress, retries=retries, **kwargs)


__all__ = ["EXECUTORS", "Executor", "Task", "make_executor", "register_executor"]
