"""The default executor: a local process pool, one task per input file.

A worker process that dies (killed, out of memory, a crash in native code) breaks a Python process
pool: every task still queued or running fails with `BrokenProcessPool`. The executor then starts a
new pool and resubmits them. Each worker records the task it is running in a small file named by
its pid, so the tasks in flight are known; the task whose worker died (an exit other than the
pool's own SIGTERM of the survivors) is charged an attempt and retried up to `--retries` times,
the others are simply rerun. When the retries are spent the error names the task whose worker died,
how, and every task that was in flight.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import threading
import time
import weakref
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from curate.exec.base import Executor, Progress, Task, TaskFailed, run_task, save_failure
from curate.layout import RunLayout


def _exit_with_driver(driver: int) -> None:
    """A worker whose driver died (SIGKILL, OOM killer) would wait on the pool's queue forever: it
    watches its parent and exits when it is gone."""
    while os.getppid() == driver:
        time.sleep(1.0)
    os._exit(1)


def _init_worker():
    # each worker is one process: keep native thread pools from oversubscribing the cores
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    threading.Thread(target=_exit_with_driver, args=(os.getppid(),), daemon=True, name="curate-driver-watch").start()


def _run_tracked(task: Task, track_dir: str) -> dict:
    """Run a task in a pool worker, recording in `track_dir/<pid>` which task this worker runs."""
    mine = os.path.join(track_dir, str(os.getpid()))
    tmp = f"{mine}.tmp"
    with open(tmp, "w") as fh:
        fh.write(task.id)
    os.replace(tmp, mine)  # atomic: the driver reads a whole task id or an older one, never half
    try:
        return run_task(task)
    finally:
        os.unlink(mine)


def _remove_track_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(path))  # `_workers/`, unless another executor still uses it
    except OSError:
        pass


class WorkerLost(RuntimeError):
    """A pool worker died while running a task (its traceback file says which and how)."""


def _exit_text(code: int | None) -> str:
    if code is None:
        return "an unknown exit"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class LocalExecutor(Executor):
    """Tasks run in a pool of spawned worker processes, started once per run and reused by every
    stage (a worker's imports and loaded models are paid for once, not once per stage).

    `inline_bytes`: while no pool has been started, a stage whose tasks to run weigh less than this
    (their input bytes) runs them in this process instead: starting workers (each imports curate,
    numpy, pyarrow and loads the models) costs more than such a stage's work. `curate run` sets it
    when --workers is not given; 0 (the default) always uses the pool. Outputs do not depend on it."""

    name = "local"
    _pool: ProcessPoolExecutor | None = None
    _track_dir: str | None = None
    _cleanup: weakref.finalize | None = None

    def __init__(self, run_dir: Path, workers: int = 1, progress: bool = True, retries: int = 0, inline_bytes: int = 0):
        super().__init__(run_dir, workers=workers, progress=progress, retries=retries)
        self.inline_bytes = int(inline_bytes)

    def _inline(self, tasks: list[Task]) -> bool:
        """Run these tasks in this process: one worker, one task, or a small stage before any pool. Tasks
        marked `isolate` go to the pool even alone (a peak of memory in a worker does not stay in the
        driver), unless no pool was needed so far in a run that allows inlining small stages."""
        if self.workers == 1:
            return True
        if any(t.isolate for t in tasks):
            return self._pool is None and self.inline_bytes > 0
        if len(tasks) == 1:
            return True
        total = sum(t.weight for t in tasks)
        in_bytes = total > len(tasks)  # weights are input bytes (else 1 per task: the work is unknown)
        return self._pool is None and in_bytes and total < self.inline_bytes

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker)
        if self._track_dir is None:
            # inside the run directory, not /tmp: a run killed with SIGKILL cannot clean up after
            # itself, and the next run of this directory removes what it left (under the run lock)
            parent = RunLayout(self.run_dir).workers_dir
            parent.mkdir(parents=True, exist_ok=True)
            self._track_dir = tempfile.mkdtemp(dir=parent)
            # an executor that is never closed (an exception before close, a caller that forgets)
            # still removes it when collected or at interpreter exit
            self._cleanup = weakref.finalize(self, _remove_track_dir, self._track_dir)
        return self._pool

    def close(self) -> None:
        try:
            if self._pool is not None:
                pool, self._pool = self._pool, None
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            if self._cleanup is not None:
                self._cleanup()  # runs once: removes the track dir (and `_workers/` when empty)
            self._track_dir = self._cleanup = None

    def _recover(self) -> tuple[dict[str, str], set[str]]:
        """After a worker died: shut the broken pool down (its manager stops the other workers), read
        which task each worker was running, and start afresh. Returns ({task id: how its worker
        ended} for every task in flight, task ids whose worker died on its own)."""
        pool, self._pool = self._pool, None
        processes = dict(getattr(pool, "_processes", None) or {})  # pid -> Process, to read exit codes
        pool.shutdown(wait=True)  # every future of the broken pool is resolved once this returns
        in_flight: dict[str, str] = {}
        died: set[str] = set()
        track = Path(self._track_dir)
        for f in track.iterdir():
            if f.name.endswith(".tmp") or not f.name.isdigit():
                f.unlink(missing_ok=True)
                continue
            task_id = f.read_text()
            proc = processes.get(int(f.name))
            code = proc.exitcode if proc is not None else None
            in_flight[task_id] = _exit_text(code)
            if code != -signal.SIGTERM:  # the pool ends the survivors with SIGTERM
                died.add(task_id)
            f.unlink(missing_ok=True)
        return in_flight, died

    def _run(self, stage: str, tasks: list[Task], desc: str, skipped: int):
        bar = Progress(tasks, f"{desc} ({len(tasks)} tasks, {skipped} done before)", self.progress)
        try:
            if self._inline(tasks):
                for t in tasks:
                    result = self._attempt(stage, t)
                    bar.update(t, result)
                    yield t, result
                return

            def submit(t: Task):
                return self.pool().submit(_run_tracked, t, self._track_dir)

            # largest first (by input bytes): the stage ends with small tasks, not one big straggler;
            # results are ordered by task later, so the order of work never shows in the outputs
            pending = {submit(t): (t, 0) for t in sorted(tasks, key=lambda t: -t.weight)}
            failure: Exception | None = None
            unexplained = 0  # pool breaks with no task to blame (a worker killed between tasks)
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                broken: list[tuple[Task, int]] = []
                retry: list[tuple[Task, int]] = []
                resolved = [(fut, *pending.pop(fut)) for fut in done]
                if any(not f.cancelled() and isinstance(f.exception(), BrokenProcessPool) for f, _, _ in resolved):
                    # a worker died: every other future of that pool fails too. Stop it, learn which
                    # tasks were in flight, then handle all its futures at once on a fresh pool.
                    in_flight, died = self._recover()
                    resolved += [(fut, *pending.pop(fut)) for fut in list(pending)]
                else:
                    in_flight, died = {}, set()
                for fut, t, attempt in resolved:
                    if fut.cancelled():
                        continue
                    exc = fut.exception()
                    if isinstance(exc, BrokenProcessPool):
                        broken.append((t, attempt))
                    elif exc is not None:  # retry, then report with the task (= file) named
                        if failure is None and self.should_retry(exc, attempt):
                            retry.append((t, attempt + 1))
                        elif failure is None:
                            failure = self._failure(stage, t, exc)
                    else:
                        result = fut.result()
                        bar.update(t, result)
                        yield t, result
                if broken and failure is None:
                    unexplained += not died
                    # blame the task whose worker died; a break nobody explains (a worker killed between
                    # tasks) costs nothing, until it has happened more often than --retries allows
                    charged = died if died else ({t.id for t, _ in broken} if unexplained > self.retries else set())
                    lost = next(((t, a) for t, a in broken if t.id in charged and a >= self.retries), None)
                    if lost is not None:
                        failure = self._worker_lost(stage, lost[0], lost[1], in_flight, died)
                    else:
                        retry += [(t, attempt + (t.id in charged)) for t, attempt in broken]
                if failure is not None:
                    # queued tasks are dropped; running ones finish and keep their markers
                    for other in pending:
                        other.cancel()
                    continue
                for t, attempt in retry:
                    pending[submit(t)] = (t, attempt)
            if failure is not None:
                raise failure from None
        finally:
            bar.close()

    def _worker_lost(self, stage: str, t: Task, attempt: int, in_flight: dict[str, str], died: set[str]) -> TaskFailed:
        """The error for a task whose worker process died once more than --retries allows."""
        how = in_flight.get(t.id, "an unknown exit")
        others = sorted(i for i in in_flight if i != t.id)
        tries = f"{attempt + 1} times" if attempt else "once"
        detail = (f"its worker process died ({how}) while running it, {tries}; tasks in flight then: "
                  + ", ".join([f"{t.id} (worker died)"] + [f"{i} ({'worker died' if i in died else 'stopped with the pool'})" for i in others]))
        exc = WorkerLost(f"task {t.id}: {detail}")
        err = TaskFailed(t.id, detail, save_failure(self.run_dir, stage, t.id, exc))
        err.fix = ("a worker is lost when it is killed, runs out of memory or crashes in native code: check `dmesg` for the "
                   "OOM killer, lower --workers, or raise --retries; rerun the same command to resume")
        return err

    def _attempt(self, stage: str, t: Task) -> dict:
        attempt = 0
        while True:
            try:
                return run_task(t)
            except Exception as exc:
                if not self.should_retry(exc, attempt):
                    raise self._failure(stage, t, exc) from None
                attempt += 1
