"""Tokenization throughput: HF `tokenizers.encode_batch` vs curate's tiktoken engine, same ids.

Trains one byte-level BPE (default 32k) on a seeded sample of the corpora, then encodes every
document with both engines (same thread count), checks the ids are identical, and prints MB/s and
the ratio. Not part of pytest.

    python benchmarks/bench_tokenize.py CORPORA [--vocab-size 32000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpora", help="folder of *.jsonl.gz benchmark corpora")
    ap.add_argument("--vocab-size", type=int, default=32_000)
    ap.add_argument("--train-bytes", type=int, default=20_000_000, help="tokenizer training sample")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--tokenizer", help="use this tokenizer.json instead of training one")
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # before tokenizers starts its pool

    from curate.tokenize.tokenizer import TokenizerConfig, _read_texts, load_tokenizer, sample_texts, train_tokenizer

    files = sorted(p for p in Path(args.corpora).glob("*.jsonl*"))
    texts = [t for f in files for _, batch in _read_texts(f, "text") for t in batch]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"corpus: {len(files)} files, {len(texts):,} documents, {mb:.1f} MB")

    if args.tokenizer:
        path = Path(args.tokenizer)
    else:
        path = Path(tempfile.mkdtemp()) / "tokenizer.json"
        t0 = time.perf_counter()
        sample = sample_texts(files, args.seed, args.train_bytes)
        train_tokenizer(sample, TokenizerConfig(vocab_size=args.vocab_size), path)
        print(f"trained {args.vocab_size} BPE on {len(sample):,} docs in {time.perf_counter() - t0:.1f}s -> {path}")
    tok = load_tokenizer(path)
    enc = tok.encoder("auto")
    if enc.engine != "tiktoken":
        raise SystemExit(f"fast path unavailable: {enc.reason}")

    batch = 1024
    t0 = time.perf_counter()
    ref = []
    for i in range(0, len(texts), batch):
        ref.extend(e.ids for e in tok.hf.encode_batch(texts[i : i + batch], add_special_tokens=False))
    t_hf = time.perf_counter() - t0

    t0 = time.perf_counter()
    fast = []
    for i in range(0, len(texts), batch):
        fast.extend(enc.encode(texts[i : i + batch], threads=args.threads))
    t_tt = time.perf_counter() - t0

    same = sum(a == b for a, b in zip(ref, fast))
    n_tok = sum(map(len, ref))
    print(f"tokens: {n_tok:,} ({mb * 1e6 / n_tok:.2f} bytes/token); identical ids on {same:,}/{len(texts):,} documents")
    print(f"tokenizers.encode_batch: {mb / t_hf:6.2f} MB/s ({t_hf:.1f}s, {args.threads} threads)")
    print(f"tiktoken engine:         {mb / t_tt:6.2f} MB/s ({t_tt:.1f}s, {args.threads} threads)")
    print(f"ratio: {t_hf / t_tt:.2f}x")
    if same != len(texts):
        raise SystemExit("ids differ: the tokenize stage would fall back to tokenizers for those files")


if __name__ == "__main__":
    main()
