"""Signal kernels against their native ceilings, in one process, interleaved.

For each round, over the same Arrow batches (reading is not timed), CPU seconds of:

* `keywords`  — `KeywordSignal(finance).columns(batch)` (NFC, case folding, whitespace folding, word
  boundaries, leftmost-longest overlaps, per-document counts);
* `aho_bare`  — the ceiling named by the goal: a pyahocorasick automaton of the same normalized terms
  scanning the batch's lower-cased text joined into one string, every match consumed and nothing
  else done (`pc.utf8_lower` + join + `for _ in automaton.iter(text)`);
* `rs_bare`   — the engine the signal uses, bare: ahocorasick-rs (`BytesAhoCorasick`, DFA, every
  overlapping match) over the same lower-cased text joined and encoded to UTF-8;
* `heuristics` — `HeuristicsSignal(defaults).columns(batch)`;
* `langid`    — `LangIdSignal(defaults).columns(batch)`;
* `ft_native` — the ceiling: one fastText `multilinePredict(lines, 1, 0.0)` call per batch on lines
  already cut to the same prefix and made one line (building them is not timed).

Each function is called once on the first batch before timing (lazy imports, first-touch costs).
Rounds alternate the order of each pair, so load from other processes falls on both sides. Prints
MB of text per CPU-second (a per-core figure), docs/s per core and the ratios.

    python benchmarks/bench_kernels.py POOL [--batch-docs 2000] [--rounds 3] [--groups keywords,heuristics,langid]

POOL is a folder of `*.jsonl.gz` files (e.g. the output of `make_short_pool.py`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from curate.signals.base import SignalContext
from curate.signals.heuristics import HeuristicsConfig, HeuristicsSignal
from curate.signals.keywords import KeywordConfig, KeywordSignal
from curate.signals.langid import LangIdConfig, LangIdSignal

ROOT = Path(__file__).resolve().parents[1]


def read_batches(folder: Path, batch_docs: int) -> tuple[list[pa.Table], int]:
    batches, total, texts = [], 0, []
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    text = orjson.loads(line)["text"]
                    texts.append(text)
                    total += len(text.encode("utf-8"))
                    if len(texts) == batch_docs:
                        batches.append(pa.table({"text": pa.array(texts, pa.large_string())}))
                        texts = []
    if texts:
        batches.append(pa.table({"text": pa.array(texts, pa.large_string())}))
    return batches, total


def cpu(fn, batches) -> float:
    t = time.process_time()
    for b in batches:
        fn(b)
    return time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pool", type=Path)
    ap.add_argument("--batch-docs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--groups", default="keywords,heuristics,langid")
    args = ap.parse_args()
    batches, total = read_batches(args.pool, args.batch_docs)
    docs = sum(b.num_rows for b in batches)
    mb = total / 1e6
    ctx = SignalContext(root=ROOT)
    pairs = {}
    groups = args.groups.split(",")
    if "keywords" in groups:
        import ahocorasick
        import ahocorasick_rs

        kw = KeywordSignal(KeywordConfig(name="finance"), ctx)
        automaton = ahocorasick.Automaton()
        for i, term in enumerate(kw.lexicon.terms):
            automaton.add_word(term, i)
        automaton.make_automaton()
        rs = ahocorasick_rs.BytesAhoCorasick(
            [t.encode("utf-8") for t in kw.lexicon.terms],
            matchkind=ahocorasick_rs.MATCHKIND_STANDARD,
            implementation=ahocorasick_rs.Implementation.DFA,
        )

        def bare(b: pa.Table) -> None:
            text = "\n".join(pc.utf8_lower(b.column("text")).to_pylist())
            for _ in automaton.iter(text):
                pass

        def rs_bare(b: pa.Table) -> None:
            rs.find_matches_as_indexes("\n".join(pc.utf8_lower(b.column("text")).to_pylist()).encode("utf-8"), overlapping=True)

        pairs["keywords"] = (("keywords", kw.columns), ("aho_bare", bare), ("rs_bare", rs_bare))
    if "heuristics" in groups:
        h = HeuristicsSignal(HeuristicsConfig(), ctx)
        pairs["heuristics"] = (("heuristics", h.columns),)
    if "langid" in groups:
        lid = LangIdSignal(LangIdConfig(), ctx)
        model = lid._model
        n = lid.cfg.prefix_chars
        lines = {}
        for b in batches:
            p = pc.utf8_slice_codeunits(b.column("text"), 0, n)
            p = pc.replace_substring(pc.replace_substring(p, "\n", " "), "\r", " ")
            lines[id(b)] = [s + "\n" for s in p.to_pylist() if s.strip()]

        def native(b: pa.Table) -> None:
            model.multilinePredict(lines[id(b)], 1, 0.0, "replace")

        pairs["langid"] = (("langid", lid.columns), ("ft_native", native))

    print(f"{docs:,} docs, {mb:.1f} MB of text, {len(batches)} batches; load {os.getloadavg()}")
    for sides in pairs.values():  # one untimed call each: lazy imports and first-touch costs
        for _, fn in sides:
            fn(batches[0])
    results: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for group, sides in pairs.items():
            order = sides if r % 2 == 0 else tuple(reversed(sides))
            for name, fn in order:
                results.setdefault(name, []).append(cpu(fn, batches))
    out = {}
    for name, secs in results.items():
        best = min(secs)
        out[name] = {"cpu_s": [round(s, 3) for s in secs], "MB_per_cpu_s": round(mb / best, 1),
                     "docs_per_cpu_s": round(docs / best)}
        print(f"{name:<12} cpu s {', '.join(f'{s:.2f}' for s in secs):<24} {mb / best:7.1f} MB/s per core "
              f"{docs / best:9.0f} docs/s per core")
    for a, b in (("keywords", "aho_bare"), ("keywords", "rs_bare"), ("langid", "ft_native")):
        if a in results and b in results:
            ratios = [x / y for x, y in zip(results[a], results[b])]
            out[f"{a}/{b}"] = [round(x, 2) for x in ratios]
            print(f"{a} / {b} CPU ratio per round: {', '.join(f'{x:.2f}' for x in ratios)}")
    print(json.dumps({"docs": docs, "MB": round(mb, 2), "load_after": os.getloadavg(), "results": out}))


if __name__ == "__main__":
    main()
