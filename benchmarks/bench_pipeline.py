"""End-to-end throughput and peak memory of `curate run` on the shared corpora.

    python benchmarks/bench_pipeline.py --corpora CORPORA --workers 2 --scale 1
    python benchmarks/bench_pipeline.py --corpora CORPORA --workers 2 --scale 4 --stages annotate

`--scale K` lists every corpus file K times (as distinct inputs) to show that peak memory does not grow
with corpus size. Peak memory is the max RSS of the driver and of the worker processes (children),
from getrusage. Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def build_config(corpora: Path, scale: int, work: Path, stages: list[str], full: bool) -> Path:
    inputs = work / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    sources = []
    for f in sorted(corpora.glob("*.jsonl.gz")):
        role = "domain" if "_fin_" in f.name else "general"
        name = f.name.split(".")[0]
        d = inputs / name
        d.mkdir(exist_ok=True)
        for k in range(scale):
            link = d / f"{k:02d}.jsonl.gz"
            if not link.exists():  # a real file per copy (symlinks resolve to one input)
                try:
                    os.link(f.resolve(), link)
                except OSError:
                    shutil.copyfile(f, link)
        sources.append({"name": name, "role": role, "paths": [str(d / "*.jsonl.gz")]})
    cfg = {
        "name": "bench",
        "seed": 1,
        "stages": stages,
        "sources": sources,
        "annotate": {
            "heuristics": {},
            "langid": {},
            "keywords": [{"name": "finance", "lexicon": str(ROOT / "classifiers/lexicons/finance.txt")}],
        },
        "select": {"rules": [{"name": "not_english", "keep": "lang == 'en'"}]},
    }
    if full:
        cfg["annotate"]["classifiers"] = [{"name": "quality", "model": str(ROOT / "classifiers/quality.ftz")}]
        cfg["annotate"]["dedup_keys"] = {}
    path = work / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", required=True, help="folder of *.jsonl.gz benchmark corpora")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--stages", nargs="+", default=["annotate"])
    ap.add_argument("--full", action="store_true", help="also classifier + minhash signals")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from curate.pipeline import run_pipeline

    work = Path(tempfile.mkdtemp(prefix="curate-bench-"))
    try:
        cfg = build_config(Path(args.corpora), args.scale, work, args.stages, args.full)
        t0 = time.perf_counter()
        res = run_pipeline(cfg, out=work / "run", workers=args.workers, progress=False)
        wall = time.perf_counter() - t0
        a = res.stats["annotate"]["total"]
        rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out = {
            "workers": args.workers,
            "scale": args.scale,
            "stages": args.stages,
            "docs": a["docs_in"],
            "text_MB": round(a["bytes"] / 1e6, 1),
            "wall_s": round(wall, 2),
            "MB_per_s": round(a["bytes"] / 1e6 / wall, 2),
            "docs_per_s": round(a["docs_in"] / wall),
            "peak_rss_driver_MB": round(rss_self),
            "peak_rss_worker_MB": round(rss_children),
        }
        print(json.dumps(out))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
