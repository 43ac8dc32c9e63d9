"""Many small input files against one file holding the same documents.

    python benchmarks/bench_small_files.py SOURCE [SOURCE ...] [--files 5000] [--docs-per-file 1] [--workers 2]
           [--tokenize] [--work /tmp/curate-small-files] [--repeats 1] [--unpacked]
    python benchmarks/bench_small_files.py SOURCE [SOURCE ...] --split --files 20000 [--workers 2]

SOURCE: `*.jsonl.gz`/`*.jsonl` files (or folders of them) with a `text` field. The first
`files * docs-per-file` documents are written twice into the work folder: as `many/NNNNN.jsonl`
(`docs-per-file` documents each) and as `one/all.jsonl` (the same documents in the same order). Then
`curate run` runs the same pipeline on each (heuristics + langid, one select rule; with `--tokenize`
also tokenize with a tokenizer trained once on the single file), interleaved, and again on the
finished run directory (the no-op resume). Prints wall times, the many/one ratio measured inside one
run, and checks that both runs selected the same documents. The many small files are packed into
annotated units (curate.io.packs); `--unpacked` also times them with packing off (one annotated,
selected and decisions file per input: `CURATE_PACK_FILES=0`), the path packs replace.

`--split`: one large file instead, plain (`big.jsonl`) and gzip-compressed (`big.jsonl.gz`), each run
with `annotate.split_mb` 2 (the default: a plain file is cut into 4 ranges, a compressed one read whole)
and 0 (never split); prints the wall and the CPU seconds (whole process tree) of each. Run it from two checkouts to compare versions.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
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


def config(folder: Path, tokenizer: Path | None, pattern: str = "*.jsonl") -> dict:
    cfg = {
        "name": "small-files",
        "seed": 1,
        "stages": ["annotate", "select"] + (["tokenize"] if tokenizer else []),
        "sources": [{"name": "web", "paths": [str(folder / pattern)]}],
        "annotate": {"heuristics": {}, "langid": {}},
        "select": {"rules": [{"name": "not_english", "keep": "lang == 'en'"}]},
    }
    if tokenizer:
        cfg["tokenizer"] = {"path": str(tokenizer)}
    return cfg


def curate(*args: str) -> list[str]:
    return [sys.executable, "-m", "curate.cli", *args]


def env(**extra: str) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def timed_run(yaml_path: Path, out: Path, workers: int, cpu: dict | None = None, **extra: str) -> float:
    """Wall seconds of one `curate run`; `cpu["s"]` gets the CPU seconds of its whole process tree."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(curate("run", str(yaml_path), "--out", str(out), "--workers", str(workers), "--quiet"),
                   check=True, cwd=ROOT, env=env(**extra), stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu["s"] = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    return wall


def selected_ids(run: Path) -> list[str]:
    files = sorted((run / "selected").rglob("*.parquet"))
    return [i for f in files for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()]


def split_bench(work: Path, docs: list[bytes], workers: int) -> int:
    big = work / "big"
    shutil.rmtree(big, ignore_errors=True)
    big.mkdir(parents=True)
    data = b"\n".join(docs) + b"\n"
    (big / "big.jsonl").write_bytes(data)
    (big / "big.jsonl.gz").write_bytes(gzip.compress(data, mtime=0))
    row = {"docs": len(docs), "MB": round(len(data) / 1e6, 1), "workers": workers, "load_1min": round(os.getloadavg()[0], 2)}
    for name in ("big.jsonl", "big.jsonl.gz"):
        for split in (2, 0):
            cfg = config(big, None, name)
            cfg["annotate"]["split_mb"] = split
            y = work / "split.yaml"
            y.write_text(yaml.safe_dump(cfg, sort_keys=False))
            run = work / "run-split"
            shutil.rmtree(run, ignore_errors=True)
            cpu: dict = {}
            row[f"{name} split_mb={split} s"] = round(timed_run(y, run, workers, cpu), 2)
            row[f"{name} split_mb={split} cpu_s"] = round(cpu["s"], 2)
    print(json.dumps(row))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--docs-per-file", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tokenize", action="store_true", help="add the tokenize stage (a tokenizer is trained once on the one file)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/curate-small-files"))
    ap.add_argument("--unpacked", action="store_true", help="also time the many files with packing off (one unit per file)")
    ap.add_argument("--split", action="store_true", help="time one large file, split and unsplit, plain and gzip")
    args = ap.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    docs = documents([s.resolve() for s in args.sources], args.files * args.docs_per_file)
    if args.split:
        return split_bench(work, docs, args.workers)
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
            cpu: dict = {}
            row[f"{name}_s"] = round(timed_run(ymls[name], run, args.workers, cpu), 2)
            row[f"{name}_cpu_s"] = round(cpu["s"], 2)
            row[f"{name}_resume_s"] = round(timed_run(ymls[name], run, args.workers), 2)
        row["ratio"] = round(row["many_s"] / row["one_s"], 2)
        same = selected_ids(work / "run-many") == selected_ids(work / "run-one")
        if args.unpacked:
            run = work / "run-unpacked"
            shutil.rmtree(run, ignore_errors=True)
            cpu = {}
            row["unpacked_s"] = round(timed_run(ymls["many"], run, args.workers, cpu, CURATE_PACK_FILES="0"), 2)
            row["unpacked_cpu_s"] = round(cpu["s"], 2)
            row["unpacked_ratio"] = round(row["unpacked_s"] / row["one_s"], 2)
            same &= selected_ids(run) == selected_ids(work / "run-one")
        row["same_selection"] = same
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"files": args.files, "docs_per_file": args.docs_per_file, "docs": len(docs),
                      "text_MB": round(sum(len(d) for d in docs) / 1e6, 2), "workers": args.workers, "tokenize": args.tokenize,
                      "ratio_median": sorted(r["ratio"] for r in rows)[len(rows) // 2]}))
    return 0 if all(r["same_selection"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
