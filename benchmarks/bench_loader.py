"""Loader throughput: packed windows out of memmapped Megatron shards, tokens/s per configuration.

The bar: >= 50 M tokens/s on CPU, so the loader never starves a GPU. Measures PackedLoader.batch
(seeded order, blend lookup, gather into an int64 array) plus the torch.from_numpy hand-off, in the
main process, over warm page cache (the shards are written just before, or read once first).

    python benchmarks/bench_loader.py                     # synthetic shards, 100 M tokens
    python benchmarks/bench_loader.py --data runs/demo    # a run directory / shards folder
    python benchmarks/bench_loader.py --blend             # two sets blended 0.7 / 0.3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curate.shards.megatron import MegatronWriter  # noqa: E402
from curate.train.inputs import resolve  # noqa: E402
from curate.train.loader import Blend, PackedLoader, ShardSet  # noqa: E402


def synth_shards(folder: Path, tokens: int, shards: int = 4, vocab: int = 32000, seed: int = 0) -> list[str]:
    """`shards` shards of random documents (50-4000 tokens) totalling about `tokens`, uint16."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(shards):
        prefix = folder / f"train_{i:05d}"
        w = MegatronWriter(prefix, np.uint16)
        left = tokens // shards
        while left > 0:
            lens = rng.integers(50, 4000, size=4096)
            lens = lens[np.cumsum(lens) <= left] if lens.sum() > left else lens
            if lens.size == 0:
                lens = np.array([left])
            w.add_many(rng.integers(0, vocab, int(lens.sum()), dtype=np.uint16), lens)
            left -= int(lens.sum())
        w.finalize()
        out.append(str(prefix))
    return out


def measure(blend: Blend, seq_len: int, batch: int, seconds: float, seed: int = 0) -> dict:
    """Tokens/s of batches from step 0 on, for about `seconds` (after one warm-up batch)."""
    ld = PackedLoader(blend, seq_len, batch, seed)
    torch.from_numpy(ld.batch(0))
    step, tokens, t0 = 1, 0, time.perf_counter()
    while True:
        t = torch.from_numpy(ld.batch(step))
        tokens += t.numel()
        step += 1
        if step % 64 == 0 and time.perf_counter() - t0 >= seconds:
            break
    dt = time.perf_counter() - t0
    return {"seq_len": seq_len, "batch": batch, "batches": step - 1, "tokens_per_s": tokens / dt, "us_per_batch": dt / (step - 1) * 1e6}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="run dir / shards folder (default: synthetic shards in a temp dir)")
    ap.add_argument("--tokens", type=float, default=100e6, help="synthetic tokens")
    ap.add_argument("--seconds", type=float, default=2.0, help="per configuration")
    ap.add_argument("--configs", default="2048x8,2048x32,1024x16,512x64,128x8,128x64", help="SEQxBATCH list")
    ap.add_argument("--blend", action="store_true", help="split the shards into two sets blended 0.7/0.3")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.data:
            prefixes = resolve(args.data).train
        else:
            t0 = time.perf_counter()
            prefixes = synth_shards(Path(tmp), int(args.tokens))
            print(f"wrote {args.tokens / 1e6:.0f} M synthetic tokens in {time.perf_counter() - t0:.1f}s")
        if args.blend and len(prefixes) > 1:
            half = len(prefixes) // 2
            blend = Blend((0.7, 0.3), (ShardSet(prefixes[:half]), ShardSet(prefixes[half:])))
        else:
            blend = Blend((1.0,), (ShardSet(prefixes),))
        for s in blend.sets:  # warm the page cache: we measure the loader, not the disk
            for part in s.parts:
                part.sum()
        print(f"{'seq x batch':>12} {'M tokens/s':>11} {'us/batch':>9}")
        for cfg in args.configs.split(","):
            seq, batch = (int(x) for x in cfg.split("x"))
            r = measure(blend, seq, batch, args.seconds)
            print(f"{cfg:>12} {r['tokens_per_s'] / 1e6:11.1f} {r['us_per_batch']:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
