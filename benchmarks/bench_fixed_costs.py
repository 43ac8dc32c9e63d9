"""Fixed costs of `curate run` on a small selection: wall of a first run, wall of a no-op resume
(the same command again on the finished run directory) and the per-stage times of timings.json.

Interleaves one or more code trees (each `--code DIR` is put first on PYTHONPATH), so a before/after
comparison sees the same machine load:

    python benchmarks/bench_fixed_costs.py pipelines/demo.yaml --out /tmp/fc --code /path/old --code . --rounds 3

Each round and code tree: a fresh run into its own folder, then two no-op resumes. Modules load from
cached bytecode (PYTHONDONTWRITEBYTECODE is dropped), as after an install. Prints one line per run and
the medians per code tree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

STAGES = ("annotate", "dedup", "decontam", "select", "tokenize", "mix")


def run(pipeline: Path, out: Path, code: Path, workers: int | None) -> float:
    env = dict(os.environ, PYTHONPATH=str(code))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as after any install: modules load from cached bytecode
    cmd = [sys.executable, "-m", "curate.cli", "run", str(pipeline), "--out", str(out), "--quiet"]
    if workers:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, cwd=code)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pipeline", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="scratch folder for the run directories")
    ap.add_argument("--code", type=Path, action="append", required=True, help="a code tree to time (repeatable)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    pipeline = args.pipeline.resolve()
    codes = [c.resolve() for c in args.code]
    res: dict[int, dict[str, list[float]]] = {i: {"first": [], "noop": []} for i in range(len(codes))}
    stage_times: dict[int, dict[str, list[float]]] = {i: {s: [] for s in STAGES} for i in range(len(codes))}
    for r in range(args.rounds):
        for i, code in enumerate(codes):
            out = args.out / f"code{i}-round{r}"
            shutil.rmtree(out, ignore_errors=True)
            first = run(pipeline, out, code, args.workers)
            timings = json.loads((out / "timings.json").read_text())
            noop = [run(pipeline, out, code, args.workers) for _ in range(2)]
            res[i]["first"].append(first)
            res[i]["noop"] += noop
            for s in STAGES:
                if isinstance(timings.get(s), (int, float)):
                    stage_times[i][s].append(timings[s])
            stages = " ".join(f"{s} {timings[s]:.2f}" for s in STAGES if isinstance(timings.get(s), (int, float)))
            print(f"round {r} code {code}: first {first:.2f} s, no-op {noop[0]:.2f} / {noop[1]:.2f} s; stages: {stages}", flush=True)
    for i, code in enumerate(codes):
        med = {k: statistics.median(v) for k, v in res[i].items()}
        stages = " ".join(f"{s} {statistics.median(v):.2f}" for s, v in stage_times[i].items() if v)
        print(f"median {code}: first run {med['first']:.2f} s, no-op resume {med['noop']:.2f} s; stages: {stages}")


if __name__ == "__main__":
    main()
