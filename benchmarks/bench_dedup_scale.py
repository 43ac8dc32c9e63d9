"""Peak memory of the dedup stage alone (exact duplicates) as the number of documents grows.

Writes a run directory of annotated Parquet files shaped like `bench_scale.py`'s runs (9 sources,
`copies` files per source, each copy of a source's documents with distinct ids and the same exact
hashes, so dedup drops every copy after the first) without running annotate, then runs the dedup
stage in a child process with N workers and samples the RSS of the child (the driver) and of its
whole process tree every 0.1 s. Much faster than a full `bench_scale.py` run, so dedup's memory at
5 GB-sized document counts can be measured in minutes.

    PYTHON_WITH_PSUTIL benchmarks/bench_dedup_scale.py --copies 9,83 [--docs-per-copy 28978] \\
        [--curate-python .venv/bin/python] [--curate-root CHECKOUT] [--workers 2] [--work /tmp/dedup-scale]

9 copies of 28,978 documents is the 0.5 GB run's 260,802 documents; 83 copies the 5 GB run's 2.4 M.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tree_rss import TreeSampler

ROOT = Path(__file__).resolve().parents[1]
SOURCES = 9

CHILD = r"""
import sys, json, time
from pathlib import Path
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from curate.config import PipelineConfig
from curate.context import RunContext
from curate.exec.local import LocalExecutor
import curate.dedup.stage as stage

work, copies, per, workers, build = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "build"
names = [f"src{s}" for s in range(9)]
spec = [{"name": n, "role": "domain" if s < 2 else "general", "paths": [str(work / "in" / n / "*.jsonl")]} for s, n in enumerate(names)]
cfg = PipelineConfig.model_validate({"seed": 1, "sources": spec, "annotate": {"dedup_keys": {}}, "dedup": {"exact": True, "near": False}})
run = work / "run"
ctx = RunContext(cfg=cfg, run_dir=run, root=work, executor=LocalExecutor(run, workers=workers, progress=False))
if build:
    rng = np.random.default_rng(0)
    sizes = np.full(9, per // 9) + (np.arange(9) < per % 9)
    for s, n in enumerate(names):
        (work / "in" / n).mkdir(parents=True, exist_ok=True)
        for k in range(copies):
            (work / "in" / n / f"{k:03d}.jsonl").write_text("{}\n")
    hashes = {n: rng.integers(0, 2**63, int(sizes[s]), dtype=np.uint64) for s, n in enumerate(names)}
    for n in names:  # about 1.2% repeats inside the corpus itself, as in the real one
        h = hashes[n]
        h[rng.integers(0, h.size, h.size // 80)] = h[rng.integers(0, h.size, h.size // 80)]
    lengths = {n: rng.integers(200, 20000, hashes[n].size) for n in names}
    for f in ctx.inputs():
        n, k = f.source.name, int(Path(f.path).stem)
        m = hashes[n].size
        t = pa.table({"id": pa.array([f"{n}-{i}-r{k}" for i in range(m)]), "text": pa.array([""] * m),
                      "source": pa.array([n] * m), "role": pa.array([spec[names.index(n)]["role"]] * m),
                      "char_count": pa.array(lengths[n], pa.int64()), "dedup_hash": pa.array(hashes[n], pa.uint64())})
        p = ctx.annotated_path(f)
        p.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(t, p)
    sys.exit(0)
t0 = time.perf_counter()
st = stage.DedupStage(ctx).run()
ctx.executor.close()
print(json.dumps({"dedup_s": round(time.perf_counter() - t0, 1), "docs": st["total"]["docs_in"], "drops": sum(st["total"]["drops"].values()),
                  "partitions": st["total"]["partitions"]}))
"""


def measure(cmd: list[str], env: dict) -> dict:
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = {"tree": 0, "driver": 0, "worker": 0}

    def sample(rss: list[int]) -> None:
        peak["tree"], peak["driver"] = max(peak["tree"], sum(rss)), max(peak["driver"], rss[0])
        peak["worker"] = max([peak["worker"]] + rss[1:])

    with TreeSampler(proc.pid, sample, every=0.1):
        out, err = proc.communicate()
    if proc.returncode:
        sys.exit(f"dedup failed:\n{err.decode()[-3000:]}")
    return {**json.loads(out.decode().strip().splitlines()[-1]), "wall_s": round(time.perf_counter() - t0, 1),
            "peak_tree_MB": round(peak["tree"] / 2**20), "peak_driver_MB": round(peak["driver"] / 2**20),
            "peak_worker_MB": round(peak["worker"] / 2**20),
            "load": [round(load0, 1), round(os.getloadavg()[0], 1)]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", default="9,83", help="comma-separated copies of the corpus")
    ap.add_argument("--docs-per-copy", type=int, default=28_978)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("/tmp/dedup-scale"))
    ap.add_argument("--curate-python", type=Path, default=ROOT / ".venv" / "bin" / "python")
    ap.add_argument("--curate-root", type=Path, default=ROOT, help="checkout whose code is run (default: this one)")
    args = ap.parse_args(argv)
    # one annotated file per input file, as bench_scale.py's large inputs get (these inputs are tiny stand-ins)
    env = dict(os.environ, PYTHONPATH=str(args.curate_root.resolve()), CURATE_PACK_FILES="0")
    rows = []
    for copies in (int(c) for c in args.copies.split(",")):
        work = args.work / f"c{copies}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        base = [str(args.curate_python), "-c", CHILD, str(work), str(copies), str(args.docs_per_copy), str(args.workers)]
        subprocess.run(base + ["build"], env=dict(env, PYTHONPATH=str(ROOT)), check=True)
        r = measure(base + ["run"], env)
        drops = work / "run" / "dedup" / "drops.parquet"
        r.update(copies=copies, drops_sha=hashlib.sha256(drops.read_bytes()).hexdigest()[:16])
        print(json.dumps(r), flush=True)
        rows.append(r)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'copies':>7}{'docs':>11}{'drops':>11}{'dedup s':>9}{'peak tree MB':>14}{'peak driver MB':>16}{'peak worker MB':>16}  drops sha256  load")
    for r in rows:
        print(f"{r['copies']:>7}{r['docs']:>11,}{r['drops']:>11,}{r['dedup_s']:>9}{r['peak_tree_MB']:>14}{r['peak_driver_MB']:>16}{r['peak_worker_MB']:>16}"
              f"  {r['drops_sha']}  {r['load'][0]}→{r['load'][1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
