"""Many small input files against one file holding the same documents.

    python benchmarks/bench_small_files.py SOURCE [SOURCE ...] [--files 5000] [--docs-per-file 1] [--workers 2]
           [--tokenize] [--work /tmp/curate-small-files] [--repeats 1]

SOURCE: `*.jsonl.gz`/`*.jsonl` files (or folders of them) with a `text` field. The first
`files * docs-per-file` documents are written twice into the work folder: as `many/NNNNN.jsonl`
(`docs-per-file` documents each) and as `one/all.jsonl` (the same documents in the same order). Then
`curate run` runs the same pipeline on each (heuristics + langid, one select rule; with `--tokenize`
also tokenize with a tokenizer trained once on the single file), interleaved, and again on the
finished run directory (the no-op resume). Prints wall times, the many/one ratio measured inside one
run, and checks that both runs selected the same documents.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def documents(sources: list[Path], n: int) -> list[bytes]:
    """The first `n` non-blank documents of the sources (files in the order given, folders sorted)."""
    files: list[Path] = []
    for s in sources:
        files += sorted(p for p in s.rglob("*.jsonl*")) if s.is_dir() else [s]
    out: list[bytes] = []
    for f in files:
        opener = gzip.open if f.name.endswith(".gz") else open
        with opener(f, "rb") as fh:
            for line in fh:
                rec = orjson.loads(line)
                text = rec.get("text")
                if isinstance(text, str) and text.strip():
                    out.append(orjson.dumps({"id": f"d{len(out):06d}", "text": text}))
                    if len(out) == n:
                        return out
    if len(out) < n:
        sys.exit(f"only {len(out)} documents in the sources, {n} asked for")
    return out


def write_inputs(work: Path, docs: list[bytes], per_file: int) -> tuple[Path, Path]:
    many, one = work / "many", work / "one"
    for d in (many, one):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    for k in range(0, len(docs), per_file):
        (many / f"{k // per_file:05d}.jsonl").write_bytes(b"\n".join(docs[k:k + per_file]) + b"\n")
    (one / "all.jsonl").write_bytes(b"\n".join(docs) + b"\n")
    return many, one


def config(folder: Path, tokenizer: Path | None) -> dict:
    cfg = {
        "name": "small-files",
        "seed": 1,
        "stages": ["annotate", "select"] + (["tokenize"] if tokenizer else []),
        "sources": [{"name": "web", "paths": [str(folder / "*.jsonl")]}],
        "annotate": {"heuristics": {}, "langid": {}},
        "select": {"rules": [{"name": "not_english", "keep": "lang == 'en'"}]},
    }
    if tokenizer:
        cfg["tokenizer"] = {"path": str(tokenizer)}
    return cfg


def curate(*args: str) -> list[str]:
    return [sys.executable, "-m", "curate.cli", *args]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def timed_run(yaml_path: Path, out: Path, workers: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(curate("run", str(yaml_path), "--out", str(out), "--workers", str(workers), "--quiet"),
                   check=True, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def selected_ids(run: Path) -> list[str]:
    files = sorted((run / "selected").rglob("*.parquet"))
    return [i for f in files for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--docs-per-file", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tokenize", action="store_true", help="add the tokenize stage (a tokenizer is trained once on the one file)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/curate-small-files"))
    args = ap.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    docs = documents([s.resolve() for s in args.sources], args.files * args.docs_per_file)
    many, one = write_inputs(work, docs, args.docs_per_file)
    tokenizer = None
    if args.tokenize:
        tokenizer = work / "tokenizer.json"
        if not tokenizer.exists():
            subprocess.run(curate("tokenizer", "train", str(one / "all.jsonl"), "--out", str(tokenizer), "--vocab-size", "8000",
                                  "--seed", "1"), check=True, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL)
    ymls = {}
    for name, folder in (("many", many), ("one", one)):
        ymls[name] = work / f"{name}.yaml"
        ymls[name].write_text(yaml.safe_dump(config(folder, tokenizer), sort_keys=False))
    rows = []
    for rep in range(args.repeats):
        row = {"repeat": rep + 1, "load_1min": round(os.getloadavg()[0], 2)}
        for name in ("one", "many"):
            run = work / f"run-{name}"
            shutil.rmtree(run, ignore_errors=True)
            row[f"{name}_s"] = round(timed_run(ymls[name], run, args.workers), 2)
            row[f"{name}_resume_s"] = round(timed_run(ymls[name], run, args.workers), 2)
        row["ratio"] = round(row["many_s"] / row["one_s"], 2)
        same = selected_ids(work / "run-many") == selected_ids(work / "run-one")
        row["same_selection"] = same
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"files": args.files, "docs_per_file": args.docs_per_file, "docs": len(docs),
                      "text_MB": round(sum(len(d) for d in docs) / 1e6, 2), "workers": args.workers, "tokenize": args.tokenize,
                      "ratio_median": sorted(r["ratio"] for r in rows)[len(rows) // 2]}))
    return 0 if all(r["same_selection"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
