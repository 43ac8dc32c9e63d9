"""Ray executor: the same tasks as the local pool, scheduled as Ray tasks on a local or remote cluster.

Outputs are byte-identical to the local executor because tasks are the same pure functions of
their inputs, write to the same paths, and results are ordered by task, not by completion. On a
multi-node cluster the run directory and the inputs must be on storage every node sees (NFS, a
shared mount); the driver writes completion markers, so a rerun skips what any node finished.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from curate.errors import ConfigError, CurateError
from curate.exec import ray_watchdog
from curate.exec.base import Executor, Progress, Task, run_task


def _ray():
    try:
        import ray
    except ImportError:  # pragma: no cover - optional extra
        raise ConfigError("the Ray executor needs Ray", fix="pip install 'curate[ray]'") from None
    return ray


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, run_dir: Path, workers: int = 1, progress: bool = True, address: str | None = None,
                 retries: int = 0, num_cpus_per_task: float = 1.0):
        super().__init__(run_dir, workers=workers, progress=progress, retries=retries)
        ray = _ray()
        self.started_here = False
        if not ray.is_initialized():
            env = {"env_vars": {"TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1"}}
            if address:
                ray.init(address=address, runtime_env=env, log_to_driver=False, configure_logging=False)
            else:
                self._start_watchdog()
                # every process of this private instance carries the token (the raylet's workers inherit
                # it), so the watchdog can end them all if this driver dies without ray.shutdown()
                os.environ[ray_watchdog.ENV] = self._token
                try:
                    ray.init(num_cpus=self.workers, include_dashboard=False, runtime_env=env, log_to_driver=False,
                             configure_logging=False)
                finally:
                    os.environ.pop(ray_watchdog.ENV, None)
            self.started_here = True
        self.num_cpus_per_task = num_cpus_per_task
        self._remote = ray.remote(num_cpus=num_cpus_per_task, max_retries=retries, retry_exceptions=False)(run_task)

    def _run(self, stage: str, tasks: list[Task], desc: str, skipped: int):
        ray = _ray()
        bar = Progress(tasks, f"{desc} on Ray ({len(tasks)} tasks, {skipped} done before)", self.progress)
        # bound in-flight tasks so a huge stage does not flood the object store
        limit = max(2 * self.workers, 4)
        queue = sorted(tasks, key=lambda t: -t.weight)  # largest first; results are ordered by task later
        inflight: dict = {}
        attempts: dict[str, int] = {}
        # after a failure nothing new is started, but tasks already running finish and get their
        # markers, so the rerun after the fix does not redo them (on a cluster that can be hours)
        failure: CurateError | None = None
        try:
            while inflight or (queue and failure is None):
                while queue and failure is None and len(inflight) < limit:
                    t = queue.pop(0)
                    inflight[self._remote.remote(t)] = t
                done, _ = ray.wait(list(inflight), num_returns=1)
                ref = done[0]
                t = inflight.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:
                    cause = getattr(exc, "cause", None) or exc
                    attempts[t.id] = attempts.get(t.id, 0) + 1
                    if failure is None and self.should_retry(cause, attempts[t.id] - 1):
                        queue.insert(0, t)
                    elif failure is None:  # `exc` (not `cause`) carries the remote traceback for the log
                        failure = self._failure(stage, t, cause, logged=exc)
                    continue
                bar.update(t, result)
                yield t, result
            if failure is not None:
                raise failure from None
        finally:
            bar.close()
            for ref in inflight:
                ray.cancel(ref, force=True)

    _watchdog: subprocess.Popen | None = None

    def _start_watchdog(self) -> None:
        """A process in its own session that ends this instance's Ray processes when the driver dies."""
        self._token = secrets.token_hex(8)
        ticks = ray_watchdog.start_ticks(os.getpid())
        if ticks is None:  # no /proc: nothing to watch with
            return
        env = {k: v for k, v in os.environ.items() if k != ray_watchdog.ENV}
        self._watchdog = subprocess.Popen([sys.executable, "-m", "curate.exec.ray_watchdog", str(os.getpid()), ticks, self._token],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True, close_fds=True, env=env)

    def close(self) -> None:
        if self.started_here:
            _ray().shutdown()
            self.started_here = False
        if self._watchdog is not None:  # a last sweep for anything ray.shutdown() left behind
            try:
                self._watchdog.send_signal(signal.SIGUSR1)
                self._watchdog.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                self._watchdog.kill()
            self._watchdog = None

