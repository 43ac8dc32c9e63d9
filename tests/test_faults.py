"""kill -9 `curate run` inside each stage, rerun the same command, get byte-identical outputs.

One run directory is killed in turn mid-annotate, mid-dedup, mid-select, mid-tokenize and mid-mix
(each restart resumes, then dies in the next stage), then at seeded random moments; the last
restart completes. Checked after every kill: every Parquet and .bin/.idx under a final name is
whole (temp files are never taken for output). At the end: every output file (shards, manifest,
stats, annotated/selected Parquet, token files, markers) is byte-identical to an uninterrupted
run, no temp file is left, and no finished task was redone (marker and output mtimes unchanged).
"""

from __future__ import annotations

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

import pytest

from curate.pipeline import run_pipeline
from curate.shards.verify import verify_dir
from scaleout_helpers import check_outputs_complete, digest, write_corpus, write_pipeline

FILES_PER_SOURCE = 4  # 8 input files: 8 tasks in annotate, dedup pass 1, select and tokenize
N_FILES = 2 * FILES_PER_SOURCE


def _count(run: Path, pattern: str) -> int:
    return len(list(run.glob(pattern)))


@dataclass
class KillPoint:
    """Kill when `started` turns true; the kill landed inside the stage iff `finished` is still false."""

    stage: str
    started: Callable[[Path], bool]
    finished: Callable[[Path], bool]


KILL_POINTS = [
    KillPoint("annotate", lambda r: _count(r, "_markers/annotate/*.json") >= 1,
              lambda r: _count(r, "_markers/annotate/*.json") == N_FILES),
    KillPoint("dedup", lambda r: _count(r, "_markers/dedup_keys/*.json") >= 1,
              lambda r: _count(r, "_markers/dedup_clusters/*.json") == 1),
    KillPoint("select", lambda r: _count(r, "_markers/select/*.json") >= 1,
              lambda r: _count(r, "_markers/select/*.json") == N_FILES),
    KillPoint("tokenize", lambda r: _count(r, "_markers/tokenize/*.json") >= 1,
              lambda r: _count(r, "_markers/tokenize-merge/*.json") == 2),
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
        for m in self.run.glob("_markers/*/*.json"):
            self.first_seen.setdefault(str(m), m.stat().st_mtime_ns)
            # a finished per-file task's outputs must not be rewritten either
            stage, name = m.parent.name, m.stem.replace("_", "/", 1)
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
              f"markers {len(list(runner.run.glob('_markers/*/*.json')))}")
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
            print("random kill: markers", sorted({m.parent.name for m in runner.run.glob("_markers/*/*.json")}))
    assert kills >= 2
    runner.finish(clean)
