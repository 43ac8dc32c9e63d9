"""Throughput and peak memory of `curate run` (annotate + exact dedup + select) as input grows.

For each size S (GB of document text) it writes ceil(S / corpus size) copies of every `*.jsonl.gz`
under CORPORA as plain `.jsonl` files, each copy with distinct ids (`<id>-r<k>`, texts unchanged, so
exact dedup finds every copy after the first), runs `curate run` on them as a subprocess with the
given workers, and reports wall time, MB/s of input text and the peak RSS of the whole process tree
(sampled every 0.2 s with psutil) and of the driver (the `curate run` process itself), and the
driver's and the tree's peak per phase (the phase is the last progress bar the run printed: annotate,
each dedup pass, select, then `report` once every select task has its marker). It prints
the SHA-256 of `dedup/drops.parquet`, `dedup/clusters.json` and of the dedup and select sections
of `stats.json`, so runs of two versions of the code can be checked for identical outputs.

    PYTHON_WITH_PSUTIL benchmarks/bench_scale.py --corpora CORPORA --sizes 0.5,1,2 \\
        [--curate-python .venv/bin/python] [--curate-root CHECKOUT] [--workers 2] [--work /tmp/curate-scale]

`--curate-root` runs the code of another checkout (default: this one), e.g. an export of an older
commit for a before/after comparison.

Pipeline: heuristics, langid, finance keywords and dedup keys (exact hash; `near: false`), exact
dedup, select (English, Gopher word count). Copies of a size are deleted before the next size runs.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path


import orjson
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vs_datatrove as vs  # noqa: E402  (measure(), curate_cmd(), curate_env())
from tree_rss import TreeSampler  # noqa: E402


def load_corpus(corpora: Path) -> tuple[dict[str, list[dict]], int]:
    docs, size = {}, 0
    for f in sorted(corpora.glob("*.jsonl.gz")):
        with gzip.open(f, "rb") as fh:
            recs = [orjson.loads(line) for line in fh if line.strip()]
        docs[f.name.split(".")[0]] = recs
        size += sum(len(r.get("text", "").encode("utf-8")) for r in recs)
    return docs, size


def write_copies(docs: dict[str, list[dict]], copies: int, inputs: Path) -> None:
    shutil.rmtree(inputs, ignore_errors=True)
    for name, recs in docs.items():
        d = inputs / name
        d.mkdir(parents=True)
        for k in range(copies):
            with open(d / f"{k:03d}.jsonl", "wb") as out:
                out.writelines(orjson.dumps({"id": f"{r.get('id', i)}-r{k}", "text": r.get("text", "")}) + b"\n"
                               for i, r in enumerate(recs))


def config(docs: dict[str, list[dict]], inputs: Path, root: Path) -> dict:
    return {
        "name": "scale",
        "seed": 1,
        "stages": ["annotate", "dedup", "select"],
        "sources": [{"name": n, "role": "domain" if "_fin_" in n else "general", "paths": [str(inputs / n / "*.jsonl")]}
                    for n in docs],
        "annotate": {
            "heuristics": {},
            "langid": {},
            "keywords": [{"name": "finance", "lexicon": str(root / "classifiers/lexicons/finance.txt")}],
            "dedup_keys": {},
        },
        "dedup": {"exact": True, "near": False},
        "select": {"rules": [{"name": "not_english", "keep": "lang == 'en'"},
                             {"name": "words", "keep": "word_count >= 50"}]},
    }


PHASE = re.compile(rb"(annotate|dedup: [a-z -]+|select|decontam|adapt|tokenize|mix) \(\d+ tasks")


def phase_of(run_dir: Path, log: Path) -> str:
    """The stage (or dedup pass) running now: the last progress bar the run printed; `report` once every
    select task has its marker (select prints its bar when it starts, not when it ends)."""
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, fh.seek(0, 2) - 4096))
            found = PHASE.findall(fh.read())
    except OSError:
        found = []
    phase = found[-1].decode() if found else "start"
    if phase == "select":
        markers = run_dir / "_markers"
        try:
            if sum(1 for _ in (markers / "select").iterdir()) >= sum(1 for _ in (markers / "annotate").iterdir()):
                phase = "report"
        except OSError:
            pass
    return phase


def measure(cmd: list[str], log: Path, env: dict, cwd: Path, run_dir: Path) -> dict:
    """Run `cmd`; every 0.2 s the RSS of the driver and of the whole tree, attributed to the current phase."""
    load0 = os.getloadavg()[0]
    per_phase: dict[str, dict[str, int]] = {}
    peak = {"tree": 0, "driver": 0}
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)

        def sample(rss: list[int]) -> None:
            ph = per_phase.setdefault(phase_of(run_dir, log), {"driver": 0, "tree": 0})
            ph["driver"], ph["tree"] = max(ph["driver"], rss[0]), max(ph["tree"], sum(rss))
            peak["tree"], peak["driver"] = max(peak["tree"], sum(rss)), max(peak["driver"], rss[0])

        with TreeSampler(proc.pid, sample):
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed (exit {code}); see {log}:\n{log.read_text()[-3000:]}")
    mb = 2**20
    # ru_maxrss of a waited child is the largest of it and its descendants: the largest single process
    return {"wall_s": wall, "peak_tree_MB": peak["tree"] / mb, "peak_driver_MB": peak["driver"] / mb,
            "peak_single_MB": max(peak["driver"], usage.ru_maxrss * 1024) / mb,
            "phases": {k: (round(v["driver"] / mb), round(v["tree"] / mb)) for k, v in per_phase.items()},
            "load_before": load0, "load_after": os.getloadavg()[0]}


def digests(run_dir: Path) -> dict:
    def sha(b: bytes) -> str:
        return hashlib.sha256(b).hexdigest()[:16]

    stats = json.loads((run_dir / "stats.json").read_text())["stages"]
    out = {name: sha((run_dir / "dedup" / name).read_bytes()) for name in ("drops.parquet", "clusters.json") if (run_dir / "dedup" / name).exists()}
    out.update({f"stats.{k}": sha(json.dumps(stats.get(k), sort_keys=True).encode()) for k in ("dedup", "select")})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", type=Path, required=True)
    ap.add_argument("--sizes", default="0.5,1,2", help="comma-separated GB of text")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("/tmp/curate-scale"))
    ap.add_argument("--curate-python", type=Path, help="interpreter of curate's virtualenv (default .venv/bin/python)")
    ap.add_argument("--curate-root", type=Path, help="checkout whose code is run (default: this one)")
    args = ap.parse_args(argv)
    vs.CURATE_PY = args.curate_python or vs.CURATE_PY
    code_root = (args.curate_root or vs.ROOT).resolve()
    env = dict(os.environ, PYTHONPATH=str(code_root))
    docs, size = load_corpus(args.corpora)
    if not docs:
        sys.exit(f"no *.jsonl.gz under {args.corpora}")
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for gb in (float(s) for s in args.sizes.split(",")):
        copies = max(1, math.ceil(gb * 1e9 / size))
        write_copies(docs, copies, work / "inputs")
        cfg = work / "scale.yaml"
        cfg.write_text(yaml.safe_dump(config(docs, work / "inputs", vs.ROOT), sort_keys=False))
        run_dir = work / "run"
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"{gb} GB: {copies} copies ...", file=sys.stderr, flush=True)
        m = measure(vs.curate_cmd("run", str(cfg), "--out", str(run_dir), "--workers", str(args.workers)),
                    work / f"run-{gb}.log", env, code_root, run_dir)
        stats = json.loads((run_dir / "stats.json").read_text())["stages"]
        timings = json.loads((run_dir / "timings.json").read_text())
        text_mb = stats["annotate"]["total"]["bytes"] / 1e6
        rows.append({"GB": gb, "copies": copies, "docs": stats["annotate"]["total"]["docs_in"], "text_MB": round(text_mb, 1),
                     "wall_s": round(m["wall_s"], 1), "MB_per_s": round(text_mb / m["wall_s"], 2),
                     "peak_tree_MB": round(m["peak_tree_MB"]), "peak_driver_MB": round(m["peak_driver_MB"]),
                     "peak_single_MB": round(m["peak_single_MB"]),
                     "phase_peak_MB_driver_tree": m["phases"], "digests": digests(run_dir),
                     "dedup_docs_out": stats["dedup"]["total"]["docs_out"], "kept": stats["select"]["total"]["docs_out"],
                     "stage_s": {k: round(v, 1) for k, v in timings.items() if isinstance(v, (int, float))},
                     "load": [round(m["load_before"], 1), round(m["load_after"], 1)]})
        print(json.dumps(rows[-1]), flush=True)
        shutil.rmtree(work / "inputs", ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)
    print(f"{'GB':>5}{'docs':>11}{'text MB':>9}{'wall s':>8}{'MB/s':>7}{'peak tree MB':>14}{'peak driver MB':>16}{'peak 1 proc MB':>16}  load")
    for r in rows:
        print(f"{r['GB']:>5}{r['docs']:>11,}{r['text_MB']:>9.0f}{r['wall_s']:>8.1f}{r['MB_per_s']:>7.2f}"
              f"{r['peak_tree_MB']:>14}{r['peak_driver_MB']:>16}{r['peak_single_MB']:>16}  {r['load'][0]}→{r['load'][1]}")
    print("peak RSS per phase, driver / tree (MB):")
    for r in rows:
        print(f"{r['GB']:>5}  " + ", ".join(f"{k} {d}/{t}" for k, (d, t) in r["phase_peak_MB_driver_tree"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
