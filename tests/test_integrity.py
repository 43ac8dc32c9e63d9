"""Unit tests of the pieces that keep runs from corrupting each other or user data: the run-directory
lock, atomic writes that fail loudly, temp clean-up under the lock, `--out` ownership, and input keys."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curate.errors import ConfigError
from curate.io.atomic import TempFileVanished, atomic_path, remove_stale_tmp, tmp_path
from curate.io.input_keys import flat_name, relative_name, source_root, task_key
from curate.io.rundir import IDENTITY, check_out_dir, clear_run_dir, mark_run_dir
from curate.io.runlock import LOCK_NAME, RunLock, RunLocked

HOLD = """
import sys, time
from curate.io.runlock import RunLock
lock = RunLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _holder(run: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run), str(seconds)], stdout=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    assert proc.stdout.readline().strip() == b"held"
    return proc


def test_second_lock_refused_naming_the_holder(tmp_path):
    proc = _holder(tmp_path / "run", 30)
    try:
        with pytest.raises(RunLocked, match=rf"in use by another curate run: pid {proc.pid} on host "):
            RunLock(tmp_path / "run").acquire()
    finally:
        proc.kill()
        proc.wait()


def test_lock_of_a_killed_run_is_taken_over(tmp_path):
    proc = _holder(tmp_path / "run", 30)
    proc.kill()  # like kill -9: the lock file stays, its flock goes with the process
    proc.wait()
    assert (tmp_path / "run" / LOCK_NAME).exists()
    with RunLock(tmp_path / "run") as lock:
        assert lock.held
    assert not (tmp_path / "run" / LOCK_NAME).exists()  # released: removed


def test_lock_written_by_another_host_is_respected(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_NAME).write_text('{"pid": 1, "host": "elsewhere-host", "started": 0}')
    with pytest.raises(RunLocked, match="elsewhere-host"):
        RunLock(run).acquire()


def test_atomic_path_fails_loudly_when_its_temp_file_vanishes(tmp_path):
    target = tmp_path / "out.parquet"
    with pytest.raises(TempFileVanished, match="vanished"):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"data")
            tmp.unlink()  # what another run's clean-up did
    assert not target.exists()


def test_stale_tmp_removed_only_under_the_lock_and_only_curate_names(tmp_path):
    run = tmp_path / "run"
    (run / "annotated").mkdir(parents=True)
    ours = tmp_path / "run" / "annotated" / "x.parquet.tmp-123"
    ours.write_bytes(b"")
    theirs = [run / "notes.tmp-draft", run / "annotated" / "y.tmp-12a"]
    for p in theirs:
        p.write_bytes(b"keep")
    with pytest.raises(RuntimeError, match="lock"):
        remove_stale_tmp(run)
    with RunLock(run) as lock:
        assert remove_stale_tmp(run, lock=lock) == 1
    assert not ours.exists() and all(p.exists() for p in theirs)
    assert tmp_path_name_ok()


def tmp_path_name_ok() -> bool:
    from curate.io.atomic import TMP_NAME

    return bool(TMP_NAME.fullmatch(tmp_path(Path("a/b.parquet")).name))


def test_out_into_user_folder_refused_and_fresh_keeps_user_files(tmp_path):
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "thesis.tex").write_text("x")
    with pytest.raises(ConfigError, match="not a curate run directory.*thesis.tex"):
        check_out_dir(user)
    check_out_dir(tmp_path / "new")  # a new or empty folder is fine
    (tmp_path / "empty").mkdir()
    check_out_dir(tmp_path / "empty")
    run = tmp_path / "run"
    run.mkdir()
    mark_run_dir(run)
    (run / "annotated").mkdir()
    (run / "stats.json").write_text("{}")
    (run / "my-notes.md").write_text("mine")
    check_out_dir(run)  # a curate run with a user file beside it: allowed
    assert clear_run_dir(run) == ["my-notes.md"]
    assert sorted(p.name for p in run.iterdir()) == ["my-notes.md"]
    assert not (run / IDENTITY).exists()


def test_input_keys_stable_unique_and_safe(tmp_path):
    root = tmp_path
    for rel in ("x/part-00000.jsonl", "y/part-00000.jsonl"):
        (root / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "in" / rel).write_text("")
    base = source_root(["in/*/*.jsonl"], root)
    assert base == root / "in"
    keys = {task_key("s", relative_name(p, base)) for p in (root / "in").rglob("*.jsonl")}
    assert keys == {"s/x~part-00000.jsonl", "s/y~part-00000.jsonl"}
    # two entries share their deepest common folder; a plain file is named from its folder
    assert source_root(["in/x/*.jsonl", "in/y/part-00000.jsonl"], root) == root / "in"
    # one-to-one: names that a lossy scheme would merge stay apart
    names = ["a/b", "a~b", "a_b", "a b", "a%20b", "..", ".hidden", "é", "a/b/c" * 100, "a/b/c" * 100 + "x"]
    flats = [flat_name(n) for n in names]
    assert len(set(flats)) == len(names)
    assert all("/" not in f and not f.startswith(".") and len(f.encode()) < 250 for f in flats)
    assert task_key("s", "a.jsonl", 1, 3) == "s/a.jsonl@p01" != task_key("s", "a.jsonl.p01")


def test_lock_is_released_after_a_failed_run(tmp_path, monkeypatch):
    from curate.pipeline import run_pipeline

    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"id": "1", "text": "hello world"}\n{"id": "2"\n')
    (tmp_path / "p.yaml").write_text("sources:\n  - {name: s, paths: [in/*.jsonl]}\nannotate: {heuristics: {}, langid: null}\n")
    with pytest.raises(Exception):
        run_pipeline(tmp_path / "p.yaml", out=tmp_path / "r", workers=1, progress=False, strict=True)
    assert not (tmp_path / "r" / LOCK_NAME).exists()
    run_pipeline(tmp_path / "p.yaml", out=tmp_path / "r", workers=1, progress=False)
    time.sleep(0)
