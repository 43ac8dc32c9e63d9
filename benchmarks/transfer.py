"""Transfer benchmark: finance selectors on pools whose genres no training set of the split holds.

    python benchmarks/transfer.py --corpora DIR [--extra-a GLOB ...] [--extra-b GLOB ...] [--pydoc-b]
        [--splits A,B] [--seed-cap 3000] [--neg-cap 3000] [--json OUT]

Splits (benchmarks/transfer_pools.py): A trains on 10-K vs Gutenberg and tests on FOMC minutes
(10% of the pool) among speeches, web pages, spam, web text and the --extra-a genres; B trains on
FOMC vs speeches and tests on 10-K among Gutenberg, web pages, spam, web text and --extra-b (+
pydoc pages of the standard library with --pydoc-b). No pool label is used by any method; rows
marked "oracle" pick their threshold on the pool's labels and are there for reference only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from curate.adapt.features import keyword_density  # noqa: E402
from curate.adapt.thresholds import best_f1_threshold, prf  # noqa: E402
from transfer_pools import PYDOC_MODULES, SPLITS, build_pool, local_docs, pydoc_docs  # noqa: E402


def oracle(y: np.ndarray, s: np.ndarray) -> dict:
    t = best_f1_threshold(y, s, probability=False)
    return {**prf(y, s >= t.value), "threshold": t.value}


def at(y: np.ndarray, s: np.ndarray, t: float) -> dict:
    return {**prf(y, s >= t), "threshold": float(t)}


def write_pool(folder: Path, pool) -> None:
    """The pool as JSONL (id, text) for `curate run`, and its labels kept apart (id, finance, genre)."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"{pool.name}-{i:06d}" for i in range(len(pool.texts))]
    with gzip.open(folder / "pool.jsonl.gz", "wb", compresslevel=1) as fh:
        for i, t in zip(ids, pool.texts.to_pylist()):
            fh.write(orjson.dumps({"id": i, "text": t}) + b"\n")
    with open(folder / "labels.jsonl", "wb") as fh:
        for i, y, g in zip(ids, pool.labels.tolist(), pool.genres.tolist()):
            fh.write(orjson.dumps({"id": i, "finance": bool(y), "genre": str(g)}) + b"\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", required=True, type=Path)
    ap.add_argument("--extra-a", nargs="*", default=[], help="globs of local text in unseen genres for split A's pool")
    ap.add_argument("--extra-b", nargs="*", default=[], help="globs for split B's pool")
    ap.add_argument("--pydoc-b", action="store_true", help="add standard-library pydoc pages to split B's pool")
    ap.add_argument("--splits", default="A,B")
    ap.add_argument("--seed-cap", type=int, default=3000)
    ap.add_argument("--neg-cap", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pos-share", type=float, default=0.1, help="share of finance documents in each pool")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--write-pools", type=Path, help="also write each pool as DIR/<split>/pool.jsonl.gz + labels.jsonl (for curate run)")
    ap.add_argument("--no-methods", action="store_true", help="only build (and write) the pools")
    args = ap.parse_args(argv)

    from transfer_methods import run_methods

    results = {}
    for split in args.splits.split(","):
        rng = np.random.default_rng(args.seed + 17)
        extra = {}
        globs = args.extra_a if split == "A" else args.extra_b
        if globs:
            extra["local_docs"] = local_docs(globs, args.neg_cap, rng)
        if split == "B" and args.pydoc_b:
            extra["pydoc"] = pydoc_docs(PYDOC_MODULES, args.neg_cap, rng)
        pool = build_pool(args.corpora, split, extra, args.seed, args.seed_cap, args.neg_cap, args.pos_share)
        genres = {str(g): int((pool.genres == g).sum()) for g in np.unique(pool.genres)}
        print(f"split {split}: seed {len(pool.seed_pos)} pos / {len(pool.seed_neg)} neg; pool {len(pool.texts)} docs, {pool.labels.mean():.3f} positive; {genres}", flush=True)
        if args.write_pools:
            write_pool(args.write_pools / split, pool)
        if args.no_methods:
            continue
        t0 = time.perf_counter()
        rows = run_methods(pool, args.seed)
        for name, r in rows.items():
            if name.startswith("_"):
                continue
            print(f"  {name:44s} P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}  (t={r.get('threshold', float('nan')):.4g})", flush=True)
        print(f"  [{time.perf_counter() - t0:.0f}s]", flush=True)
        results[split] = {"genres": genres, "rows": rows}
    if args.json:
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
