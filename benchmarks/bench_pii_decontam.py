"""Throughput of PII detection/redaction and of n-gram decontamination on real text, one process.

Reads the given JSONL(.gz/.zst) files with orjson into Arrow tables of `--batch` documents (reading is
not timed), then times, batch by batch:

* `pii`: `curate.pii.scan` with every type (e-mail, IBAN, card, SSN, IPv4, IPv6, phone), i.e. counting
  *and* producing the redacted text, as `select.pii` does; reports what it found per type;
* `decontam`: building the n-gram index of an evaluation set and `curate.decontam.match` over the
  corpus. The evaluation set is `--eval FILE` (JSONL with a `text` field, or `--eval-fields`), or by
  default `--items` passages of `--item-words` words cut at seeded random places from the corpus
  itself (so the contaminated count is known: at least the documents the passages came from).

Figures: MB of UTF-8 text per second of wall time, documents per second, CPU seconds, peak RSS.

    python benchmarks/bench_pii_decontam.py FILE [FILE ...] [--eval FILE] [--n 13] [--items 2000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

from curate.decontam.config import EvalSetConfig
from curate.decontam.engine import EvalIndex, match, read_eval_sets
from curate.io.readers import open_maybe_compressed
from curate.pii.config import ORDER, PiiConfig
from curate.pii.engine import scan


def read_batches(files: list[Path], batch: int) -> list[pa.Array]:
    texts: list[str] = []
    out = []
    for f in files:
        with open_maybe_compressed(f) as fh:
            for line in fh:
                if line.strip():
                    texts.append(orjson.loads(line).get("text") or "")
                if len(texts) >= batch:
                    out.append(pa.array(texts, pa.large_string()))
                    texts = []
    if texts:
        out.append(pa.array(texts, pa.large_string()))
    return out


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    res = fn()
    return res, time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path, help="JSONL(.gz/.zst) files with a `text` field")
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=1, help="feed the corpus this many times")
    ap.add_argument("--eval", type=Path, default=None, help="evaluation set (JSONL/Parquet); default: passages cut from the corpus")
    ap.add_argument("--eval-fields", default="text", help="comma-separated fields of --eval joined into one item")
    ap.add_argument("--items", type=int, default=2000, help="passages cut from the corpus when no --eval is given")
    ap.add_argument("--item-words", type=int, default=40)
    ap.add_argument("--n", type=int, default=13)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args(argv)

    batches = read_batches(args.files, args.batch) * args.repeat
    docs = sum(len(b) for b in batches)
    mb = sum(b.buffers()[2].size if b.buffers()[2] is not None else 0 for b in batches) / 1e6
    print(f"input: {len(args.files)} file(s), {docs:,} documents, {mb:.1f} MB of text, {len(batches)} batches")

    cfg = PiiConfig()
    found = {k: 0 for k in ORDER}

    def run_pii():
        for b in batches:
            _, c = scan(b, cfg)
            for k, v in c.items():
                found[k] += int(v.sum())

    _, wall, cpu = timed(run_pii)
    print(f"pii (all {len(ORDER)} types, count + redact): {wall:.2f} s wall, {cpu:.2f} s CPU, {mb / wall:.2f} MB/s, {docs / wall:,.0f} docs/s")
    print("  found: " + ", ".join(f"{k} {v:,}" for k, v in found.items()))

    if args.eval is not None:
        items = read_eval_sets([EvalSetConfig(name="eval", paths=[str(args.eval.resolve())], fields=args.eval_fields.split(","))], Path.cwd()).text
        planted = None
    else:
        rng = random.Random(args.seed)
        flat = [t for b in batches[: len(batches) // args.repeat] for t in b.to_pylist()]
        pick = [i for i in rng.sample(range(len(flat)), min(args.items, len(flat))) if len(flat[i].split()) > args.item_words + 2]
        items = []
        for i in pick:
            w = flat[i].split()
            a = rng.randint(0, len(w) - args.item_words)
            items.append(" ".join(w[a : a + args.item_words]))
        planted = len(set(pick))
    index, wall_i, _ = timed(lambda: EvalIndex.build(items, args.n, min_words=8))
    print(f"decontam index: {len(items):,} items, {index.num_grams:,} {args.n}-grams, {index.num_grams * 12 / 1e6:.1f} MB, built in {wall_i:.2f} s")
    flagged = [0]

    def run_match():
        for b in batches:
            m = match(b, index)
            flagged[0] += int((m.counts > 0).sum())

    _, wall, cpu = timed(run_match)
    extra = f" (passages were cut from {planted:,} documents)" if planted is not None else ""
    print(f"decontam match: {wall:.2f} s wall, {cpu:.2f} s CPU, {mb / wall:.2f} MB/s, {docs / wall:,.0f} docs/s; "
          f"{flagged[0]:,} documents contaminated{extra}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:,.0f} MB (includes the corpus held in memory: {mb:.0f} MB of text)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
