"""kill -9 `curate run` inside each stage, rerun the same command, get byte-identical outputs.

One run directory is killed in turn mid-annotate, mid-dedup, mid-select, mid-tokenize and mid-mix
(each restart resumes, then dies in the next stage), then at seeded random moments; the last
restart completes. Checked after every kill: every Parquet and .bin/.idx under a final name is
whole (temp files are never taken for output). At the end: every output file (shards, manifest,
stats, annotated/selected Parquet, token files, markers) is byte-identical to an uninterrupted
run, no temp file is left, and no finished task was redone (marker and output mtimes unchanged).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from curate.exec.base import Task, TaskFailed
from curate.exec.local import LocalExecutor
from curate.pipeline import run_pipeline
from curate.shards.megatron import IndexedDataset, MegatronWriter
from curate.shards.verify import verify_dir
from scaleout_helpers import check_outputs_complete, digest, kill_own_worker, process_id, slow_value, write_corpus, write_pipeline

FILES_PER_SOURCE = 4  # 8 input files: 8 tasks in annotate, dedup pass 1, select and tokenize
N_FILES = 2 * FILES_PER_SOURCE


def _count(run: Path, pattern: str) -> int:
    return len(list(run.glob(pattern)))


def _markers(run: Path, stage: str) -> int:
    """Finished tasks of a stage (per-input markers live in `_markers/<stage>/<source>/`)."""
    return len(list((run / "_markers" / stage).rglob("*.json")))


@dataclass
class KillPoint:
    """Kill when `started` turns true; the kill landed inside the stage iff `finished` is still false."""

    stage: str
    started: Callable[[Path], bool]
    finished: Callable[[Path], bool]


KILL_POINTS = [
    KillPoint("annotate", lambda r: _markers(r, "annotate") >= 1,
              lambda r: _markers(r, "annotate") == N_FILES),
    KillPoint("dedup", lambda r: _markers(r, "dedup_keys") >= 1,
              lambda r: _markers(r, "dedup_clusters") == 1),
    KillPoint("select", lambda r: _markers(r, "select") >= 1,
              lambda r: _markers(r, "select") == N_FILES),
    KillPoint("tokenize", lambda r: _markers(r, "tokenize") >= 1,
              lambda r: _markers(r, "tokenize-merge") == 2),
    KillPoint("mix", lambda r: _count(r, "shards/train_*.idx") >= 1, lambda r: (r / "_markers" / "mix" / "mix.json").exists()),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("faults")
    write_corpus(root, files_per_source=FILES_PER_SOURCE, docs_per_file=400)
    write_pipeline(root, shard_tokens=20_000)  # ~50 mixed shards: mix takes long enough to be hit
    return root


@pytest.fixture(scope="module")
def clean(corpus) -> dict[str, str]:
    """Digest of an uninterrupted run."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(corpus)  # input globs are relative to the working directory, as for the CLI runs
        r = run_pipeline(corpus / "p.yaml", out=corpus / "clean", workers=1, progress=False)
    assert sum(r.stats["dedup"]["total"]["drops"].values()) > 0 and r.stats["select"]["total"]["drops"]
    return digest(r.run_dir)


class Runner:
    """Starts `curate run` as a subprocess (its own process group) and kills it with SIGKILL."""

    def __init__(self, corpus: Path, run: Path, workers: int):
        self.run = run
        self.cmd = [sys.executable, "-m", "curate.cli", "run", str(corpus / "p.yaml"), "--out", str(run), "--workers", str(workers), "--quiet"]
        self.cwd = corpus
        self.first_seen: dict[str, int] = {}  # marker or output -> mtime when first seen after a kill

    def start(self) -> subprocess.Popen:
        return subprocess.Popen(self.cmd, cwd=self.cwd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def kill(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole job, pool workers included, like an OOM kill or pre-emption
        proc.wait()

    def kill_when(self, cond: Callable[[Path], bool], timeout: float = 60) -> bool:
        """Run until `cond(run)`, then kill; False if the run ended first."""
        proc = self.start()
        deadline = time.time() + timeout
        while proc.poll() is None and not cond(self.run) and time.time() < deadline:
            time.sleep(0.002)
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read().decode()
            return False
        self.kill(proc)
        return True

    def kill_after(self, seconds: float) -> bool:
        proc = self.start()
        try:
            proc.wait(seconds)
        except subprocess.TimeoutExpired:
            self.kill(proc)
            return True
        assert proc.returncode == 0, proc.stderr.read().decode()
        return False

    def after_kill(self) -> None:
        """What a kill may leave: temp files, but never a partial file under a final name."""
        check_outputs_complete(self.run, final=False)
        for m in (self.run / "_markers").rglob("*.json"):
            self.first_seen.setdefault(str(m), m.stat().st_mtime_ns)
            # a finished per-file task's outputs must not be rewritten either
            rel = m.relative_to(self.run / "_markers")
            stage, name = rel.parts[0], Path(*rel.parts[1:]).as_posix()[: -len(".json")]
            if stage in ("annotate", "select"):
                out = self.run / ("annotated" if stage == "annotate" else "selected") / f"{name}.parquet"
                self.first_seen.setdefault(str(out), out.stat().st_mtime_ns)

    def finish(self, clean: dict[str, str]) -> None:
        proc = self.start()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        assert b"Traceback" not in err
        assert digest(self.run) == clean
        assert not list(self.run.rglob("*.tmp-*"))
        check_outputs_complete(self.run, final=True)
        assert verify_dir(self.run).ok
        redone = {p: t for p, t in self.first_seen.items() if Path(p).stat().st_mtime_ns != t}
        assert not redone, f"finished tasks were redone: {sorted(redone)}"


def test_kill_inside_every_stage_then_resume_identical(corpus, clean):
    runner = Runner(corpus, corpus / "killed", workers=1)
    backup = corpus / "killed.backup"
    landed = []
    for point in KILL_POINTS:
        for attempt in range(3):
            # keep the state before this start, to try again if the kill misses its stage
            shutil.rmtree(backup, ignore_errors=True)
            if runner.run.exists():
                shutil.copytree(runner.run, backup, copy_function=shutil.copy2)
            assert runner.kill_when(point.started), f"the run finished before {point.stage} was seen"
            if not point.finished(runner.run):
                break
            # the stage was already over when the kill landed: restore, try again
            shutil.rmtree(runner.run)
            if backup.exists():
                shutil.copytree(backup, runner.run, copy_function=shutil.copy2)
        else:
            pytest.fail(f"3 kills in a row missed the {point.stage} stage")
        landed.append(point.stage)
        runner.after_kill()
        print(f"kill {point.stage}: attempt {attempt + 1}, tmp files left {len(list(runner.run.rglob('*.tmp-*')))}, "
              f"markers {len(list(runner.run.glob('_markers/**/*.json')))}")
    assert landed == [p.stage for p in KILL_POINTS]
    runner.finish(clean)


def test_kill_at_random_moments_with_a_process_pool(corpus, clean):
    """Seeded random kill times over the whole run, 2 pool workers: kills also land between stages,
    during tokenizer training, in the report; the pool's workers die with the job."""
    runner = Runner(corpus, corpus / "random", workers=2)
    # kill times as fractions of an uninterrupted CLI run on this machine, so the kills land inside the
    # run however fast the machine is (each resumed run is shorter than the first)
    timing = Runner(corpus, corpus / "timing", workers=2)
    t0 = time.perf_counter()
    assert not timing.kill_after(600)
    full = time.perf_counter() - t0
    rng = random.Random(8)
    kills = 0
    for _ in range(3):
        if runner.kill_after(rng.uniform(0.15, 0.4) * full):
            kills += 1
            runner.after_kill()
            print("random kill: markers", sorted({m.relative_to(runner.run / "_markers").parts[0] for m in runner.run.glob("_markers/**/*.json")}))
    assert kills >= 2
    runner.finish(clean)


def test_second_run_into_a_live_run_dir_is_refused_and_the_first_completes(corpus, clean):
    """Two runs, one --out: the second is refused naming the holder, touches nothing, and the first
    finishes with every document (outputs identical to an uninterrupted run, shards verify)."""
    first = Runner(corpus, corpus / "shared", workers=1)
    proc = first.start()
    try:
        deadline = time.time() + 60
        while proc.poll() is None and _markers(first.run, "annotate") < 1 and time.time() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the first run ended before the second could start"
        second = subprocess.run(first.cmd, cwd=corpus, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert f"in use by another curate run: pid {proc.pid} on host" in second.stderr, second.stderr
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    finally:
        if proc.poll() is None:
            first.kill(proc)
    assert digest(first.run) == clean
    assert verify_dir(first.run).ok and not list(first.run.rglob("*.tmp-*"))
# ---- MegatronWriter.finalize: the .bin lands first, the .idx last (the commit point)

FINALIZE_PROBE = """
import os, signal, sys
import numpy as np
from curate.shards.megatron import MegatronWriter

prefix, kill_at, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
events = []

def hook(event, args):
    # a real SIGKILL just before the kill_at-th rename/unlink of a shard file (a path with no `.tmp-`)
    if event in ("os.rename", "os.remove") and any(str(a).endswith((".bin", ".idx")) for a in args[:2]):
        events.append(event)
        if len(events) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

w = MegatronWriter(prefix, np.uint16)
w.add_many([np.arange(1, k + 2, dtype=np.uint16) for k in range(n)])
sys.addaudithook(hook)
w.finalize()
"""


@pytest.mark.parametrize("old", [False, True], ids=["fresh", "over-an-older-shard"])
def test_finalize_killed_between_renames_never_leaves_an_index_without_its_data(tmp_path, old):
    """Kill the writing process just before each rename/unlink `finalize()` makes (a real SIGKILL from
    an audit hook): a final-named .idx must always open against the .bin beside it with the new data,
    or be absent. It used to rename the .idx first: a kill before the .bin rename left an index with
    no data (or with the older shard's data)."""
    prefix = tmp_path / "shard"
    kills = 0
    for kill_at in range(1, 6):
        for p in tmp_path.iterdir():
            p.unlink()
        if old:  # an older, different shard of the same name: its index must not outlive its data
            w = MegatronWriter(prefix, np.uint16)
            w.add_many([np.full(7, 9, dtype=np.uint16)] * 3)
            w.finalize()
        proc = subprocess.run([sys.executable, "-c", FINALIZE_PROBE, str(prefix), str(kill_at), "20"], capture_output=True, text=True)
        if proc.returncode == 0:  # finalize made fewer renames than kill_at: it completed
            assert IndexedDataset(prefix).num_tokens == sum(range(1, 21))
            break
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        kills += 1
        idx, bin_ = tmp_path / "shard.idx", tmp_path / "shard.bin"
        if idx.exists():
            ds = IndexedDataset(prefix)  # opens: sizes and pointers fit the .bin beside it
            assert bin_.stat().st_size == ds.num_tokens * 2, f"kill {kill_at}: index and data disagree"
            new = len(ds) == 20 and [int(x) for x in ds[19]] == list(range(1, 21))
            older = old and len(ds) == 3 and all(int(x) == 9 for x in ds.tokens)  # killed before anything moved
            assert new or older, f"kill {kill_at}: the index describes neither the new nor the older shard"
    assert kills >= 2  # at least the kill before the first and before the last rename landed


# ---- a lost local worker: the pool is restarted, the task whose worker died is retried (--retries)


def _worker_tasks(tmp_path: Path, killer: Task) -> list[Task]:
    return [Task(id=f"t{i}", fn=slow_value, kwargs={"value": i}) for i in range(6)] + [killer]


def test_lost_worker_is_retried_and_the_rest_rerun(tmp_path):
    killer = Task(id="k", fn=kill_own_worker, kwargs={"flag": str(tmp_path / "killed-once"), "value": 99}, weight=10)
    ex = LocalExecutor(tmp_path / "run", workers=2, progress=False, retries=1)
    try:
        got = ex.map("s", _worker_tasks(tmp_path, killer))
    finally:
        ex.close()
    assert [r["value"] for r in got] == [0, 1, 2, 3, 4, 5, 99]
    assert (tmp_path / "killed-once").exists()  # the first attempt really died
    assert not list((tmp_path / "run").rglob("*.failed.txt"))
    assert len(list((tmp_path / "run" / "_markers" / "s").glob("*.json"))) == 7


def test_worker_records_go_with_an_executor_nobody_closed(tmp_path):
    """The per-worker records live under RUN/_workers/ (not /tmp) and are removed by close(), by the
    collector when an executor is dropped without close(), and by the next run after a SIGKILL."""
    import gc

    ex = LocalExecutor(tmp_path / "run", workers=2, progress=False)
    assert [r["value"] for r in ex.map("s", [Task(id=f"t{i}", fn=slow_value, kwargs={"value": i, "seconds": 0}) for i in range(3)])] == [0, 1, 2]
    track = Path(ex._track_dir)
    assert track.parent == tmp_path / "run" / "_workers" and track.is_dir()
    ex._pool.shutdown(wait=True)  # the pool's own workers stop; the executor is simply dropped
    del ex
    gc.collect()
    assert not (tmp_path / "run" / "_workers").exists()


def test_a_small_stage_runs_in_this_process_until_a_pool_is_started(tmp_path):
    """inline_bytes (set by `curate run` when --workers is not given): tasks weighing less in total run
    in this process, no workers to start; a stage of unknown weights, a heavier one, and every stage
    once a pool is up use the pool."""
    me = os.getpid()

    def pids(ex, weights):
        return {r["pid"] for r in ex.map(f"s{len(weights)}-{sum(weights)}", [Task(id=f"t{i}", fn=process_id, kwargs={"value": i}, weight=w)
                                                                         for i, w in enumerate(weights)])}

    ex = LocalExecutor(tmp_path / "run", workers=2, progress=False, inline_bytes=1000)
    try:
        assert pids(ex, [100, 200, 300]) == {me} and ex._pool is None  # 600 bytes: inline
        assert me not in pids(ex, [1.0, 1.0, 1.0])  # weights are not bytes: the work is unknown
        assert me not in pids(ex, [10, 20, 30])  # small, but a pool is up now: use it
    finally:
        ex.close()
    ex = LocalExecutor(tmp_path / "run2", workers=2, progress=False, inline_bytes=1000)
    try:
        assert me not in pids(ex, [400, 700])  # 1,100 bytes: the pool
    finally:
        ex.close()
    assert me not in pids_default(tmp_path)


def pids_default(tmp_path):
    ex = LocalExecutor(tmp_path / "run3", workers=2, progress=False)  # inline_bytes=0: always the pool
    try:
        return {r["pid"] for r in ex.map("s", [Task(id=f"t{i}", fn=process_id, kwargs={"value": i}, weight=5) for i in range(2)])}
    finally:
        ex.close()


@pytest.mark.parametrize("retries", [0, 2])
def test_lost_worker_with_retries_spent_names_the_task_and_those_in_flight(tmp_path, retries):
    killer = Task(id="src/00003-bad", fn=kill_own_worker, kwargs={}, weight=10)  # largest: submitted first
    ex = LocalExecutor(tmp_path / "run", workers=2, progress=False, retries=retries)
    try:
        with pytest.raises(TaskFailed) as err:
            ex.map("annotate", _worker_tasks(tmp_path, killer))
    finally:
        ex.close()
    e = err.value
    assert e.task_id == "src/00003-bad"  # not whichever future happened to fail first
    assert "worker process died (signal SIGKILL)" in str(e) and "tasks in flight then: src/00003-bad (worker died)" in str(e)
    assert (f"{retries + 1} times" if retries else "once") in str(e) and "--retries" in e.fix
    assert not (tmp_path / "run" / "_workers").exists()  # a failed stage leaves no worker records behind
    (failed,) = (tmp_path / "run" / "_markers" / "annotate").rglob("*.failed.txt")
    assert failed.relative_to(tmp_path / "run" / "_markers" / "annotate").as_posix().startswith("src/00003-bad") and "WorkerLost" in failed.read_text()


def test_killing_a_busy_worker_of_the_cli_then_resume(corpus, clean, tmp_path):
    """`curate run --workers 2`: SIGKILL a pool worker while it runs a task (found through the
    executor's per-worker record). With --retries 0 the run stops with a clear error naming that
    task, no traceback; the same command with --retries 1 resumes, survives a second such kill, and
    the outputs are byte-identical to an uninterrupted run."""
    run, tmp = corpus / "lost-worker", tmp_path / "tmpdir"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))

    def run_and_kill_a_busy_worker(retries: int) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "curate.cli", "run", str(corpus / "p.yaml"), "--out", str(run), "--workers", "2",
               "--retries", str(retries), "--quiet"]
        proc = subprocess.Popen(cmd, cwd=corpus, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        victim, deadline = None, time.time() + 120
        while victim is None and proc.poll() is None and time.time() < deadline:
            for f in run.glob("_workers/*/*"):
                if f.name.isdigit():
                    try:
                        victim = (int(f.name), f.read_text())
                    except FileNotFoundError:  # the task just ended
                        continue
                    os.kill(victim[0], signal.SIGKILL)
                    break
            time.sleep(0.005)
        out, err = proc.communicate(timeout=300)
        assert victim is not None, "no busy worker was seen"
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err + f"\n[killed worker {victim[0]} running {victim[1]}]")

    first = run_and_kill_a_busy_worker(retries=0)
    assert first.returncode == 2 and "Traceback" not in first.stderr and "BrokenProcessPool" not in first.stderr, first.stderr
    killed_task = first.stderr.rsplit("running ", 1)[1].rstrip("]")
    assert f"task {killed_task} failed: its worker process died (signal SIGKILL) while running it, once" in first.stderr
    assert "fix:" in first.stderr and list(run.glob("_markers/**/*.failed.txt"))
    second = run_and_kill_a_busy_worker(retries=1)
    assert second.returncode == 0, second.stderr
    assert {k: v for k, v in digest(run).items() if not k.endswith(".failed.txt")} == clean  # the first run's report stays
    assert not (run / "_workers").exists() and not list(tmp.iterdir())  # the per-worker records went with the pool


# ---- out of space: a clear "disk full at PATH" error, in the driver and in a worker


@pytest.fixture
def tiny_disk(tmp_path):
    """A real tmpfs mount (needs root or CAP_SYS_ADMIN; skipped elsewhere): size set by the test."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = []

    def mount(size: str) -> Path:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(mnt)
        return mnt

    yield mount
    for m in mounted:
        subprocess.run(["umount", str(m)], check=False)


def _fill(folder: Path) -> None:
    """Write a filler file until the disk is full (unbuffered, in ever smaller pieces)."""
    with open(folder / "filler", "wb", buffering=0) as fh:
        for size in (1 << 20, 1 << 16, 1 << 12, 512, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                pass


def _cli_run(corpus: Path, out: Path, *args: str, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curate.cli", "run", str(corpus / "p.yaml"), "--out", str(out), "--quiet", *args],
                          cwd=corpus, capture_output=True, text=True, timeout=300, **popen)


def test_disk_full_in_the_driver(corpus, clean, tiny_disk):
    """Resume a finished run on a disk with no space left: the driver's first write fails."""
    disk = tiny_disk("64m")
    shutil.copytree(corpus / "clean", disk / "run")
    (disk / "run" / "stats.json").unlink()
    _fill(disk)
    proc = _cli_run(corpus, disk / "run")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"error: disk full at {disk / 'run'}" in proc.stderr and "No space left on device" in proc.stderr, proc.stderr
    assert "MB free" in proc.stderr and "choose another --out" in proc.stderr
    (disk / "filler").unlink()  # space again: the same command finishes the run
    proc = _cli_run(corpus, disk / "run")
    assert proc.returncode == 0, proc.stderr
    assert digest(disk / "run") == clean


def test_disk_full_in_a_worker(corpus, tiny_disk):
    disk = tiny_disk("400k")
    proc = _cli_run(corpus, disk / "run", "--workers", "2")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"error: disk full at {disk / 'run'}/" in proc.stderr and "fix the input or config" not in proc.stderr, proc.stderr
    assert "choose another --out" in proc.stderr


def test_file_size_limit_in_a_worker_is_not_blamed_on_the_input(corpus, tmp_path):
    """A real file-size limit (RLIMIT_FSIZE: writes past it fail with EFBIG), no root needed."""
    import resource

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))

    proc = _cli_run(corpus, tmp_path / "run", "--workers", "2", preexec_fn=limit)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"error: file too large at {tmp_path / 'run'}/" in proc.stderr and "ulimit -f" in proc.stderr, proc.stderr
    assert "fix the input or config" not in proc.stderr


def _children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_pool_workers_exit_when_the_driver_alone_is_killed(corpus):
    """SIGKILL of the driver only (not its process group): its pool workers would otherwise wait on
    the pool's queue forever; they notice their parent is gone and exit."""
    runner = Runner(corpus, corpus / "orphans", workers=2)
    proc = runner.start()
    try:
        deadline = time.time() + 120
        workers: set[int] = set()
        while proc.poll() is None and (len(workers) < 3 or _markers(runner.run, "annotate") < 1) and time.time() < deadline:
            workers = _children(proc.pid)  # 2 pool workers and multiprocessing's resource tracker, at work
            time.sleep(0.02)
        assert len(workers) >= 3, "the run ended before its pool started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 15
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        left = [w for w in workers if _alive(w)]
        assert not left, f"pool workers {left} outlived their driver"
    finally:
        if proc.poll() is None:
            runner.kill(proc)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
