"""Synthetic token data for the train/ablate tests: a tiny run directory written with the real
MegatronWriter and mix_to_dir (per-source token files, mixed shards, manifest), no tokenizer or corpus.

Each source is a different first-order Markov chain over the same vocabulary (every token has 4
likely successors), so a model can learn it in a few steps and more of one source's tokens lowers
that source's held-out loss: a real signal for the trainer and ablation tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curate.layout import RunLayout
from curate.mix.engine import MixConfig, mix_to_dir
from curate.shards.megatron import MegatronWriter

VOCAB = 256
EOS = 0


def markov_docs(seed: int, n_docs: int, doc_len: int, vocab: int = VOCAB) -> list[np.ndarray]:
    """n_docs documents of doc_len tokens (+ EOS) from a seeded random chain over ids 1..vocab-1."""
    rng = np.random.default_rng(seed)
    succ = rng.integers(1, vocab, size=(vocab, 4))
    cur = rng.integers(1, vocab, size=n_docs)
    out = np.empty((n_docs, doc_len + 1), dtype=np.int64)
    for t in range(doc_len):
        out[:, t] = cur
        cur = succ[cur, rng.choice(4, size=n_docs, p=[0.7, 0.1, 0.1, 0.1])]
    out[:, -1] = EOS
    return list(out)


def write_shard(prefix: Path, docs: list[np.ndarray]) -> dict:
    w = MegatronWriter(prefix, np.uint16)
    w.add_many(docs)
    return w.finalize()


def make_run(root: Path, sources: dict[str, str] | None = None, train_docs: int = 120, val_docs: int = 12, doc_len: int = 63,
             domain_share: float = 0.51) -> Path:
    """RUN/ with tokens/<source>/<role>/{train,heldout}.{bin,idx}, then mixed by the real `mix_to_dir` (shards/ and
    manifest.json) at `domain_share`, using about all available tokens."""
    sources = sources or {"fin": "domain", "web": "general"}
    run = Path(root)
    for i, name in enumerate(sources):
        docs = markov_docs(1000 + i, train_docs + val_docs, doc_len)
        write_shard(RunLayout(run).tokens(name, sources[name], "train"), docs[:train_docs])
        write_shard(RunLayout(run).tokens(name, sources[name], "heldout"), docs[train_docs:])
    total = len(sources) * train_docs * (doc_len + 1)
    cfg = MixConfig(target={"domain": domain_share, "general": 1 - domain_share}, total_tokens=total)
    tokenizer = {"path": "tokenizer.json", "sha256": "0" * 64, "vocab_size": VOCAB, "eos_id": EOS}
    config = {"sources": [{"name": n, "role": r} for n, r in sources.items()], "mix": cfg.model_dump(mode="json")}
    mix_to_dir(run / "tokens", {n: {"role": r} for n, r in sources.items()}, cfg, run, 0, tokenizer, config=config)
    return run
