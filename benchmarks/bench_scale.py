"""Throughput and peak memory of `curate run` (annotate + exact dedup + select) as input grows.

For each size S (GB of document text) it writes ceil(S / corpus size) copies of every `*.jsonl.gz`
under CORPORA as plain `.jsonl` files, each copy with distinct ids (`<id>-r<k>`, texts unchanged, so
exact dedup finds every copy after the first), runs `curate run` on them as a subprocess with the
given workers, and reports wall time, MB/s of input text and the peak RSS of the whole process tree
(sampled every 0.2 s with psutil, as `vs_datatrove.py` does) and of its largest process.

    PYTHON_WITH_PSUTIL benchmarks/bench_scale.py --corpora CORPORA --sizes 0.5,1,2 \\
        [--curate-python .venv/bin/python] [--workers 2] [--work /tmp/curate-scale]

Pipeline: heuristics, langid, finance keywords and dedup keys (exact hash; `near: false`), exact
dedup, select (English, Gopher word count). Copies of a size are deleted before the next size runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import shutil
import sys
from pathlib import Path

import orjson
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vs_datatrove as vs  # noqa: E402  (measure(), curate_cmd(), curate_env())


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", type=Path, required=True)
    ap.add_argument("--sizes", default="0.5,1,2", help="comma-separated GB of text")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("/tmp/curate-scale"))
    ap.add_argument("--curate-python", type=Path, help="interpreter of curate's virtualenv (default .venv/bin/python)")
    args = ap.parse_args(argv)
    vs.CURATE_PY = args.curate_python or vs.CURATE_PY
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
        m = vs.measure(vs.curate_cmd("run", str(cfg), "--out", str(run_dir), "--workers", str(args.workers)),
                       work / f"run-{gb}.log", vs.curate_env())
        stats = json.loads((run_dir / "stats.json").read_text())["stages"]
        timings = json.loads((run_dir / "timings.json").read_text())
        text_mb = stats["annotate"]["total"]["bytes"] / 1e6
        rows.append({"GB": gb, "copies": copies, "docs": stats["annotate"]["total"]["docs_in"], "text_MB": round(text_mb, 1),
                     "wall_s": round(m["wall_s"], 1), "MB_per_s": round(text_mb / m["wall_s"], 2),
                     "peak_tree_MB": round(m["peak_tree_MB"]), "peak_single_MB": round(m["peak_single_MB"]),
                     "dedup_docs_out": stats["dedup"]["total"]["docs_out"], "kept": stats["select"]["total"]["docs_out"],
                     "stage_s": {k: round(v, 1) for k, v in timings.items() if isinstance(v, (int, float))},
                     "load": [round(m["load_before"], 1), round(m["load_after"], 1)]})
        print(json.dumps(rows[-1]), flush=True)
        shutil.rmtree(work / "inputs", ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)
    print(f"{'GB':>5}{'docs':>11}{'text MB':>9}{'wall s':>8}{'MB/s':>7}{'peak tree MB':>14}{'peak 1 proc MB':>16}  load")
    for r in rows:
        print(f"{r['GB']:>5}{r['docs']:>11,}{r['text_MB']:>9.0f}{r['wall_s']:>8.1f}{r['MB_per_s']:>7.2f}"
              f"{r['peak_tree_MB']:>14}{r['peak_single_MB']:>16}  {r['load'][0]}→{r['load'][1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
