"""Throughput of the annotate signals (heuristics, language id, keywords) on real corpora.

Reads every `*.jsonl.gz` under CORPORA with orjson into Arrow tables of ~2,000 documents (reading is
not timed), then for each signal alone and for all of them in annotate order, runs every batch on a
pool of 1 and of 2 worker processes and reports MB of UTF-8 text per second of wall-clock time, MB
per CPU-second of the workers (a per-core figure that other load on the machine disturbs less) and
each worker's peak RSS. Signals are built once per worker before the clock starts, as the annotate
stage does; "keywords" is two lexicons (finance and blocklist).

    python benchmarks/bench_signals.py [CORPORA] [--processes 1,2] [--max-mb 0] [--repeat 1]

`--repeat 4` feeds the corpus four times, to show that peak memory does not grow with input size.
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing as mp
import os
import resource
import time
from pathlib import Path

import orjson
import pyarrow as pa

from curate.signals.base import SignalContext
from curate.signals.heuristics import HeuristicsConfig, HeuristicsSignal
from curate.signals.keywords import KeywordConfig, KeywordSignal
from curate.signals.langid import LangIdConfig, LangIdSignal

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ("heuristics", "langid", "keywords", "all")

_signals: list = []


def build_signals(group: str) -> list:
    """The signals of one benchmark group, configured as a finance pipeline would configure them."""
    ctx = SignalContext(root=ROOT)
    out = []
    if group in ("heuristics", "all"):
        out.append(HeuristicsSignal(HeuristicsConfig(), ctx))
    if group in ("langid", "all"):
        out.append(LangIdSignal(LangIdConfig(), ctx))
    if group in ("keywords", "all"):
        for name in ("finance", "blocklist"):
            out.append(KeywordSignal(KeywordConfig(name=name, lexicon=f"classifiers/lexicons/{name}.txt"), ctx))
    return out


def _init(group: str) -> None:
    global _signals
    _signals = build_signals(group)


def _run(table: pa.Table) -> tuple[int, float, int, int]:
    """Annotate one batch; return its rows, CPU seconds, this worker's pid and its peak RSS (KiB)."""
    cpu = time.process_time()
    for signal in _signals:
        cols = signal.columns(table)
        assert all(len(c) == table.num_rows for c in cols.values())
    cpu = time.process_time() - cpu
    return table.num_rows, cpu, os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _ready(_: int) -> int:
    return os.getpid()


def read_batches(corpora: Path, batch_docs: int, max_mb: float) -> tuple[list[pa.Table], int]:
    """All documents as tables of `batch_docs` rows (the last of each file shorter), and their bytes."""
    batches, total = [], 0
    for path in sorted(corpora.glob("*.jsonl.gz")):
        texts: list[str] = []
        with gzip.open(path, "rb") as fh:
            for line in fh:
                text = orjson.loads(line)["text"]
                texts.append(text)
                total += len(text.encode("utf-8"))
                if len(texts) == batch_docs:
                    batches.append(pa.table({"text": pa.array(texts, pa.large_string())}))
                    texts = []
                if max_mb and total >= max_mb * 1e6:
                    break
        if texts:
            batches.append(pa.table({"text": pa.array(texts, pa.large_string())}))
        if max_mb and total >= max_mb * 1e6:
            break
    return batches, total


def measure(group: str, processes: int, batches: list[pa.Table]) -> tuple[float, float, list[int]]:
    """Wall-clock and CPU seconds to run `group` over all batches, and each worker's peak RSS (KiB)."""
    with mp.get_context("spawn").Pool(processes, initializer=_init, initargs=(group,)) as pool:
        pool.map(_ready, range(processes), chunksize=1)  # workers are up and signals are built
        start = time.perf_counter()
        results = list(pool.imap_unordered(_run, batches, chunksize=1))
        elapsed = time.perf_counter() - start
    assert sum(r[0] for r in results) == sum(b.num_rows for b in batches)
    peak: dict[int, int] = {}
    for _, _, pid, rss in results:
        peak[pid] = max(rss, peak.get(pid, 0))
    return elapsed, sum(r[1] for r in results), sorted(peak.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", type=Path, help="folder of *.jsonl.gz benchmark corpora")
    ap.add_argument("--batch-docs", type=int, default=2000)
    ap.add_argument("--processes", default="1,2", help="comma-separated pool sizes")
    ap.add_argument("--groups", default=",".join(GROUPS), help="comma-separated: " + ",".join(GROUPS))
    ap.add_argument("--max-mb", type=float, default=0.0, help="stop reading after this many MB (0 = all)")
    ap.add_argument("--repeat", type=int, default=1, help="feed the corpus this many times")
    args = ap.parse_args()

    batches, total = read_batches(args.corpora, args.batch_docs, args.max_mb)
    if not batches:
        raise SystemExit(f"no *.jsonl.gz documents under {args.corpora}")
    batches *= args.repeat
    total *= args.repeat
    docs = sum(b.num_rows for b in batches)
    print(f"{docs:,} docs, {total / 1e6:.1f} MB of text, {len(batches)} batches of <= {args.batch_docs}")
    print(f"{'signals':<12}{'procs':>6}{'seconds':>9}{'MB/s':>8}{'docs/s':>9}{'MB/cpu-s':>10}  peak RSS/worker MiB")
    for group in args.groups.split(","):
        for procs in (int(p) for p in args.processes.split(",")):
            elapsed, cpu, rss = measure(group, procs, batches)
            rss_mib = ", ".join(f"{r / 1024:.0f}" for r in rss)
            mb = total / 1e6
            print(f"{group:<12}{procs:>6}{elapsed:>9.2f}{mb / elapsed:>8.1f}{docs / elapsed:>9.0f}{mb / cpu:>10.1f}  {rss_mib}")


if __name__ == "__main__":
    main()
