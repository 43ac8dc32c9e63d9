"""The default executor: a local process pool, one task per input file."""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from curate.exec.base import Executor, Progress, Task, run_task


def _init_worker():
    # each worker is one process: keep native thread pools from oversubscribing the cores
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class LocalExecutor(Executor):
    """Tasks run in a pool of spawned worker processes, started once per run and reused by every
    stage (a worker's imports and loaded models are paid for once, not once per stage)."""

    name = "local"
    _pool: ProcessPoolExecutor | None = None

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _run(self, stage: str, tasks: list[Task], desc: str, skipped: int):
        bar = Progress(tasks, f"{desc} ({len(tasks)} tasks, {skipped} done before)", self.progress)
        try:
            if self.workers == 1 or len(tasks) == 1:
                for t in tasks:
                    result = self._attempt(stage, t)
                    bar.update(t, result)
                    yield t, result
                return
            pool = self.pool()
            # largest first (by input bytes): the stage ends with small tasks, not one big straggler;
            # results are ordered by task later, so the order of work never shows in the outputs
            pending = {pool.submit(run_task, t): (t, 0) for t in sorted(tasks, key=lambda t: -t.weight)}
            failure: Exception | None = None
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    t, attempt = pending.pop(fut)
                    if fut.cancelled():
                        continue
                    try:
                        result = fut.result()
                    except Exception as exc:  # retry, then report with the task (= file) named
                        if failure is None and self.should_retry(exc, attempt):
                            pending[pool.submit(run_task, t)] = (t, attempt + 1)
                            continue
                        if failure is None:
                            failure = self._failure(stage, t, exc)
                            # queued tasks are dropped; running ones finish and keep their markers
                            for other in pending:
                                other.cancel()
                        continue
                    bar.update(t, result)
                    yield t, result
            if failure is not None:
                raise failure from None
        finally:
            bar.close()

    def _attempt(self, stage: str, t: Task) -> dict:
        attempt = 0
        while True:
            try:
                return run_task(t)
            except Exception as exc:
                if not self.should_retry(exc, attempt):
                    raise self._failure(stage, t, exc) from None
                attempt += 1
