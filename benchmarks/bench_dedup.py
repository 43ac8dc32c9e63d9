"""Dedup benchmark: signature throughput, recall/precision on planted duplicates, peak memory vs corpus size.

    python benchmarks/bench_dedup.py --corpora CORPORA [--bases-per-file 400] [--workers 2]
                                     [--scale 4] [--memory-mb 16] [--compare-libs]

1. builds a seeded corpus with planted near-duplicates (benchmarks/planted_duplicates.py);
2. times `MinHashSignal.columns` (1 process, and `--workers` processes on disjoint shards);
3. writes annotated Parquet (<= --docs-per-file docs per file, as annotate does per input file) and
   runs the dedup stage in a fresh child process, reading its peak RSS (VmHWM);
4. recall = planted (base, variant) pairs with exact Jaccard >= 0.8 that end in one cluster;
   precision = dropped documents whose cluster's kept document is of the same planted family
   (bases were made mutually dissimilar, so any other merge is a false positive);
5. `--scale N`: the same with N times the base documents per file, dedup budget `--memory-mb`,
   one worker, to show peak memory does not grow with the corpus.
`--compare-libs` also times rensa and datasketch if importable (PYTHONPATH), for the choice record.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from planted_duplicates import make_corpus  # noqa: E402

from curate.signals.base import SignalContext  # noqa: E402
from curate.signals.minhash import DedupKeysConfig, MinHashSignal  # noqa: E402

SEED = 1234
BATCH = 2048


def _mb(t: pa.Table) -> float:
    return float(pc.sum(pc.binary_length(t.column("text"))).as_py() or 0) / 1e6


def _sign_shard(args) -> float:
    path, num_perm = args
    t = pq.read_table(path)
    sig = MinHashSignal(DedupKeysConfig(num_perm=num_perm), SignalContext(seed=SEED))
    t0 = time.perf_counter()
    for i in range(0, t.num_rows, BATCH):
        sig.columns(t.slice(i, BATCH))
    return time.perf_counter() - t0


def signature_throughput(docs: pa.Table, workers: int, tmp: Path, num_perm: int = 128) -> dict:
    mb = _mb(docs)
    paths = []
    for w in range(workers):
        p = tmp / f"shard-{w}.parquet"
        pq.write_table(docs.select(["text"]).slice(w * -(-docs.num_rows // workers), -(-docs.num_rows // workers)), p)
        paths.append(p)
    single = _sign_shard((paths[0], num_perm))
    single_mb = _mb(pq.read_table(paths[0]))
    with mp.get_context("spawn").Pool(workers) as pool:
        t0 = time.perf_counter()
        busy = pool.map(_sign_shard, [(p, num_perm) for p in paths])
        wall = time.perf_counter() - t0
    return {"mb": round(mb, 1), "one_process_mb_s": round(single_mb / single, 1),
            f"{workers}_workers_mb_s": round(mb / max(busy), 1), f"{workers}_workers_wall_mb_s_incl_startup": round(mb / wall, 1)}


def compare_libs(docs: pa.Table, n: int = 1500) -> dict:
    """rensa / datasketch on the same normalized 5-word shingles (Python shingling per document)."""
    t = docs.slice(0, n)
    mb = _mb(t)
    sig = MinHashSignal(DedupKeysConfig(), SignalContext(seed=SEED))
    t0 = time.perf_counter()
    sig.columns(t)
    out = {"docs": n, "curate_numpy_mb_s": round(mb / (time.perf_counter() - t0), 2)}
    norm = sig.normalize(t.column("text")).to_pylist()
    try:
        from rensa import RMinHash

        t0 = time.perf_counter()
        for s in sig.normalize(t.column("text")).to_pylist():
            w = s.split(" ")
            m = RMinHash(num_perm=128, seed=SEED)
            m.update([" ".join(w[i : i + 5]) for i in range(max(len(w) - 4, 1))])
            m.digest()
        out["rensa_mb_s"] = round(mb / (time.perf_counter() - t0), 2)
    except ImportError:
        out["rensa_mb_s"] = "not installed"
    try:
        from datasketch import MinHash

        t0 = time.perf_counter()
        for s in norm[: n // 5]:
            w = s.split(" ")
            m = MinHash(num_perm=128, seed=SEED)
            m.update_batch([" ".join(w[i : i + 5]).encode() for i in range(max(len(w) - 4, 1))])
            m.digest()
        out["datasketch_mb_s"] = round(_mb(t.slice(0, n // 5)) / (time.perf_counter() - t0), 2)
    except ImportError:
        out["datasketch_mb_s"] = "not installed"
    return out


def write_run(docs: pa.Table, root: Path, dedup: dict, per_file: int) -> tuple[Path, dict]:
    """Annotated Parquet for every source (<= per_file docs per file) + the pipeline config."""
    sig = MinHashSignal(DedupKeysConfig(), SignalContext(seed=SEED))
    run = root / "run"
    sources = []
    for src in sorted(set(docs.column("source").to_pylist())):
        part = docs.filter(pc.equal(docs.column("source"), src))
        role = part.column("role")[0].as_py()
        (root / "in" / src).mkdir(parents=True, exist_ok=True)
        for k, lo in enumerate(range(0, part.num_rows, per_file)):
            (root / "in" / src / f"{k:05d}.jsonl").write_text("{}\n")  # placeholder input file
            t = part.slice(lo, per_file)
            t = t.append_column("char_count", pc.utf8_length(t.column("text")).cast(pa.int64()))
            cols = [sig.columns(t.slice(i, BATCH)) for i in range(0, t.num_rows, BATCH)]
            for name in ("dedup_hash", "minhash"):
                t = t.append_column(name, pa.chunked_array([c[name] for c in cols]))
            out = run / "annotated" / src / f"{k:05d}-{k:05d}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(t, out)
        sources.append({"name": src, "role": role, "paths": [str(root / "in" / src / "*.jsonl")]})
    cfg = {"seed": SEED, "sources": sources, "annotate": {"dedup_keys": {}}, "dedup": dedup}
    return run, cfg


def run_stage_child(run: Path, cfg: dict, workers: int) -> tuple[dict, float, float]:
    """Run the dedup stage in a fresh child process; returns (stats, wall seconds, peak RSS MB).

    Peak RSS is the child's own VmHWM (its address space after exec; ru_maxrss would also carry the
    forking parent's peak). With workers > 1 the passes run in pool processes, so it is the
    coordinator's only; the memory check uses one worker, where every pass runs in the child.
    """
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, __file__, "_stage", str(run), json.dumps(cfg), str(workers)], stdout=subprocess.PIPE, check=True)
    stats = json.loads(p.stdout)
    return stats, time.perf_counter() - t0, stats.pop("_peak_rss_kb") / 1024


def vm_hwm_kb() -> int:
    """This process's peak resident set (Linux /proc), in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _stage_main(run: str, cfg_json: str, workers: int) -> None:
    from curate.config import PipelineConfig
    from curate.context import RunContext
    from curate.exec.local import LocalExecutor
    from curate.dedup import stage as dedup

    cfg = PipelineConfig.model_validate(json.loads(cfg_json))
    ctx = RunContext(cfg=cfg, run_dir=Path(run), root=Path(run).parent, executor=LocalExecutor(Path(run), workers=workers, progress=False))
    stats = dedup.DedupStage(ctx).run()
    stats["_peak_rss_kb"] = vm_hwm_kb()
    print(json.dumps(stats))


def evaluate(run: Path, docs: pa.Table, truth: list[dict], threshold: float = 0.8) -> dict:
    drops = pq.read_table(run / "dedup" / "drops.parquet").to_pylist()
    cluster_of = {(d["source"], d["id"]): d["cluster"] for d in drops}
    src_of = dict(zip(docs.column("id").to_pylist(), docs.column("source").to_pylist()))

    def head(i: str) -> str:
        return cluster_of.get((src_of[i], i), i)

    def family(i: str) -> str:
        return i.rsplit("-v", 1)[0]

    found = [p for p in truth if p["jaccard"] >= threshold]
    hit = [p for p in found if head(p["base"]) == head(p["variant"])]
    by_kind = defaultdict(lambda: [0, 0])
    for p in found:
        by_kind[p["kind"]][0] += 1
        by_kind[p["kind"]][1] += head(p["base"]) == head(p["variant"])
    below = [p for p in truth if p["jaccard"] < threshold]
    bins = {}
    for lo, hi in ((0.8, 0.85), (0.85, 0.9), (0.9, 0.95), (0.95, 1.01)):
        sel = [p for p in found if lo <= p["jaccard"] < hi]
        bins[f"[{lo},{min(hi, 1.0)})"] = f"{sum(head(p['base']) == head(p['variant']) for p in sel)}/{len(sel)}"
    correct = sum(family(d["id"]) == family(d["cluster"]) for d in drops)
    return {
        "planted_pairs": len(truth),
        "planted_pairs_jaccard_ge_0.8": len(found),
        "recall_at_0.8": round(len(hit) / max(len(found), 1), 4),
        "recall_by_kind": {k: f"{v[1]}/{v[0]}" for k, v in sorted(by_kind.items())},
        "recall_by_jaccard": bins,
        "planted_below_0.8_merged": f"{sum(head(p['base']) == head(p['variant']) for p in below)}/{len(below)}",
        "lowest_jaccard_merged": round(min((p["jaccard"] for p in truth if head(p["base"]) == head(p["variant"])), default=1.0), 3),
        "drops": len(drops),
        "precision": round(correct / max(len(drops), 1), 4),
        "false_drops": len(drops) - correct,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", required=True, help="folder of real *.jsonl.gz corpora to plant duplicates in")
    ap.add_argument("--bases-per-file", type=int, default=400)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scale", type=int, default=4, help="corpus growth factor for the memory check (0: skip)")
    ap.add_argument("--memory-mb", type=int, default=16, help="dedup.max_memory_mb for the memory check")
    ap.add_argument("--docs-per-file", type=int, default=250, help="annotated file size (a bigger corpus has more files)")
    ap.add_argument("--compare-libs", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_dedup_") as tmpd:
        tmp = Path(tmpd)
        t0 = time.perf_counter()
        corpus = make_corpus(Path(args.corpora), args.bases_per_file, seed=7)
        docs = corpus.docs
        kinds = Counter(p["kind"] for p in corpus.truth)
        j = np.array([p["jaccard"] for p in corpus.truth])
        print(f"corpus: {docs.num_rows} docs, {_mb(docs):.1f} MB, {len(corpus.truth)} planted pairs {dict(kinds)}; "
              f"planted Jaccard p10/50/90 = {np.percentile(j, 10):.2f}/{np.percentile(j, 50):.2f}/{np.percentile(j, 90):.2f} "
              f"(built in {time.perf_counter() - t0:.1f}s)")
        print("signatures:", json.dumps(signature_throughput(docs, args.workers, tmp)))
        if args.compare_libs:
            print("libraries:", json.dumps(compare_libs(docs)))
        run, cfg = write_run(docs, tmp / "q", {}, args.docs_per_file)
        stats, wall, _ = run_stage_child(run, cfg, args.workers)
        print(f"dedup stage ({args.workers} workers): {wall:.1f}s wall incl. process start, {_mb(docs) / wall:.1f} MB/s of text; "
              f"partitions {stats['total']['partitions']}, bands x rows {stats['total']['bands']}x{stats['total']['rows']}, "
              f"candidates {stats['total']['candidate_pairs']}, verified {stats['total']['verified_pairs']}")
        print("quality:", json.dumps(evaluate(run, docs, corpus.truth)))
        if args.scale:
            rows = []
            for s in (1, args.scale):
                c = make_corpus(Path(args.corpora), args.bases_per_file * s, seed=7) if s > 1 else corpus
                r, cfg = write_run(c.docs, tmp / f"m{s}", {"max_memory_mb": args.memory_mb}, args.docs_per_file)
                st, w, m = run_stage_child(r, cfg, 1)
                rows.append((s, c.docs.num_rows, _mb(c.docs), st["total"]["partitions"], w, m))
            for s, n, mb, p, w, m in rows:
                print(f"memory check x{s}: {n} docs, {mb:.1f} MB text, max_memory_mb={args.memory_mb} -> {p} partitions, "
                      f"{w:.1f}s, peak RSS {m:.0f} MB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_stage":
        _stage_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
