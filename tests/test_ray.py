"""The Ray executor on a real local Ray cluster (2 CPUs, started once for this module).

Proves: the whole pipeline (annotate -> dedup -> select -> tokenize -> mix) gives byte-identical
outputs with Ray and with the local executor; a bad input fails its task with the file named (in
the library and through `curate run --address`, without a traceback); failed tasks are retried as
configured and then reported with their traceback saved; a rerun after a failure resumes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.errors import InputError
from curate.exec.base import Task, TaskFailed, marker_path, read_marker
from curate.pipeline import run_pipeline
from scaleout_helpers import check_outputs_complete, digest, write_corpus, write_pipeline

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def cluster():
    """A local 2-CPU Ray cluster; RayExecutor uses it instead of starting its own."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1"}})
    # test-local task functions travel by value (the workers cannot import this test module)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ray")
    write_corpus(root, files_per_source=2, docs_per_file=150)
    write_pipeline(root)
    return root


def test_ray_outputs_identical_to_local(cluster, corpus, monkeypatch):
    monkeypatch.chdir(corpus)
    local = run_pipeline(corpus / "p.yaml", out=corpus / "local", executor="local", workers=1, progress=False)
    on_ray = run_pipeline(corpus / "p.yaml", out=corpus / "ray", executor="ray", workers=2, progress=False)
    assert ray.is_initialized()  # the executor used the module's cluster and left it running
    d_local, d_ray = digest(local.run_dir), digest(on_ray.run_dir)
    assert d_local == d_ray
    # the comparison covered every stage's outputs, not an empty tree
    for must in ("manifest.json", "stats.json", "shards/train_00000.bin", "shards/train_00000.idx", "shards/val_fin.bin",
                 "annotated/fin/part0.jsonl.parquet", "selected/gen/part1.jsonl.gz.parquet", "dedup/drops.parquet"):
        assert must in d_ray, must
    assert sum(k.startswith("shards/train_") for k in d_ray) >= 4
    s = on_ray.stats
    assert s["dedup"]["total"]["exact_duplicates"] >= 5 and s["mix"]["total"]["tokens"] > 0
    assert s["select"]["total"]["docs_in"] == s["select"]["total"]["docs_out"] + sum(s["select"]["total"]["drops"].values())
    check_outputs_complete(on_ray.run_dir)
    # rerun on Ray in place: every task is skipped, nothing changes
    again = run_pipeline(corpus / "p.yaml", out=corpus / "ray", executor="ray", workers=2, progress=False)
    assert digest(again.run_dir) == d_ray


def _corrupt_parquet(path: Path) -> None:
    """A Parquet file whose footer is valid but whose data pages are garbage."""
    table = pa.table({"id": [str(i) for i in range(3000)], "text": [f"row {i} " * 20 for i in range(3000)]})
    pq.write_table(table, path, compression="none")
    data = bytearray(path.read_bytes())
    for k in range(64, len(data) // 2, 5):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))


def test_bad_input_fails_its_task_naming_the_file(cluster, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path, files_per_source=1, docs_per_file=40)
    _corrupt_parquet(tmp_path / "in" / "gen" / "broken.parquet")
    cfg = tmp_path / "p.yaml"
    cfg.write_text("name: bad\nsources:\n  - {name: fin, role: domain, paths: [in/fin/*]}\n  - {name: gen, paths: [in/gen/*]}\n"
                   "annotate: {heuristics: null, langid: null}\n")
    with pytest.raises(InputError, match=r"in/gen/broken\.parquet:1: truncated or corrupt Parquet data"):
        run_pipeline(cfg, out=tmp_path / "strict", executor="ray", workers=2, progress=False, strict=True, retries=1)
    # the good file's task still finished, so a rerun does not redo it
    assert read_marker(tmp_path / "strict", "annotate", "fin/part0.jsonl") is not None
    assert read_marker(tmp_path / "strict", "annotate", "gen/broken.parquet") is None

    # the same through the CLI against the running cluster (--address): a clear message, no traceback
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "curate.cli", "run", str(cfg), "--out", str(tmp_path / "cli"), "--executor", "ray",
           "--address", cluster, "--strict", "--quiet"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "in/gen/broken.parquet:1" in proc.stderr and "fix:" in proc.stderr

    # without --strict the corrupt rows are quarantined and counted, and the run completes
    r = run_pipeline(cfg, out=tmp_path / "lenient", executor="ray", workers=2, progress=False)
    gen = next(f for f in r.stats["annotate"]["files"] if f["file"].endswith("broken.parquet"))
    assert gen["docs_out"] == 0 and gen["drops"] == {"truncated or corrupt Parquet data": 3000}


def flaky(counter: str, fail_times: int, value: int) -> dict:
    """Fails (OSError, like a lost NFS mount) on its first `fail_times` calls; counts calls in a file."""
    p = Path(counter)
    calls = int(p.read_text()) + 1 if p.exists() else 1
    p.write_text(str(calls))
    if calls <= fail_times:
        raise OSError(f"transient failure on call {calls}")
    return {"value": value, "calls": calls}


def test_retries_honoured_then_failure_reported(cluster, tmp_path):
    from curate.exec.ray_executor import RayExecutor

    ex = RayExecutor(tmp_path / "run", workers=2, progress=False, retries=2)
    tasks = [Task(f"t{i}", flaky, dict(counter=str(tmp_path / f"c{i}"), fail_times=i, value=10 * i)) for i in range(3)]
    assert ex.map("flaky", tasks) == [{"value": 0, "calls": 1}, {"value": 10, "calls": 2}, {"value": 20, "calls": 3}]
    assert marker_path(tmp_path / "run", "flaky", "t2").exists()
    ex.close()

    ex = RayExecutor(tmp_path / "run", workers=2, progress=False, retries=1)
    task = Task("in/gen/x.jsonl", flaky, dict(counter=str(tmp_path / "d"), fail_times=3, value=1))
    with pytest.raises(TaskFailed) as err:
        ex.map("flaky", [task])
    assert (tmp_path / "d").read_text() == "2"  # 1 try + 1 retry, then reported
    msg = str(err.value)
    assert "task in/gen/x.jsonl failed: OSError: transient failure on call 2" in msg and "fix:" in msg
    log = marker_path(tmp_path / "run", "flaky", "in/gen/x.jsonl").with_suffix(".failed.txt")
    assert str(log) in msg and "Traceback" in log.read_text()
    # a rerun resumes: the finished tasks stay finished; the failed one fails on call 3, succeeds on its retry
    ex = RayExecutor(tmp_path / "run", workers=2, progress=False, retries=1)
    assert ex.map("flaky", tasks + [task])[-1] == {"value": 1, "calls": 4}
    assert (tmp_path / "c2").read_text() == "3"  # t2 was not run again


def _ticks(pid: int) -> str | None:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if f[0] == "Z" else f[19]


def _processes_with(mark: str, tree: dict[int, str] | None = None) -> dict[int, str]:
    """pid -> command line of live processes whose environment carries `mark` (Linux /proc), or that
    were seen in `tree` (pid -> start ticks; Ray's agents rename themselves and overwrite their
    environment, so they are also tracked as descendants of the CLI)."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        pid = int(d.name)
        try:
            hit = mark.encode() in (d / "environ").read_bytes().split(b"\0")
            hit = hit or (tree is not None and pid in tree and _ticks(pid) == tree[pid])
            if hit and _ticks(pid) is not None:
                out[pid] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
        except OSError:
            continue
    return out


def _descendants(root: int) -> dict[int, str]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                children.setdefault(int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]), []).append(int(d.name))
            except (OSError, IndexError):
                continue
    out, todo = {}, list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        ticks = _ticks(pid)
        if ticks is not None and pid not in out:
            out[pid] = ticks
            todo.extend(children.get(pid, ()))
    return out


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_killing_the_driver_leaves_no_ray_process_behind(corpus, tmp_path):
    """SIGKILL `curate run --executor ray` (the driver alone, as the OOM killer would) once its private
    Ray instance runs tasks: within a minute no process of that instance is left (it used to leave
    ray::DashboardAgent and ray::RuntimeEnvAgent running). Every process the CLI starts inherits the
    test's marker variable, so the check covers them all, workers included."""
    mark = f"CURATE_TEST_RAY_KILL={os.getpid()}-{tmp_path.name}"
    env = dict(os.environ, PYTHONUNBUFFERED="1", **dict([mark.split("=", 1)]))
    cmd = [sys.executable, "-m", "curate.cli", "run", str(corpus / "p.yaml"), "--out", str(tmp_path / "run"), "--executor", "ray",
           "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=corpus, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree: dict[int, str] = {}
    try:
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:  # until a Ray worker runs a task
            tree.update(_descendants(proc.pid))
            names = _processes_with(mark, tree).values()
            if any("ray::" in c and "IDLE" not in c for c in names) and any("Agent" in c for c in names) and \
                    (tmp_path / "run" / "_markers").exists():
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()
        assert any("raylet" in c for c in _processes_with(mark, tree).values())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 60
        while _processes_with(mark, tree) and time.time() < deadline:
            time.sleep(0.5)
        left = _processes_with(mark, tree)
        assert not left, f"still running after the driver was killed: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _processes_with(mark, tree):  # never leave them to the next test, even when it fails
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
