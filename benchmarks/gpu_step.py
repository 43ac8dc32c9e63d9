"""GPU figures of the pre-training step in a few minutes: tokens/s, peak memory, MFU, loader throughput.

Builds its own synthetic shards with MegatronWriter (random ids over a 32k vocabulary: the step's
cost does not depend on the text), then trains the `small` proxy (6 x 384) with curate's own
Trainer (bf16 autocast, fused AdamW, TF32) eagerly and, with --compile, under torch.compile, and
prints one table. MFU = flops_per_token x tokens/s / peak, flops_per_token = 6 N + 12 L d T
(N = parameters with matmul cost, tied head included); peak defaults to the H100 SXM bf16 dense
989e12 FLOP/s (pass --peak-flops for another card, e.g. 1979e12 is *sparse*, do not use it).

    bash benchmarks/gpu_step.sh                      # defaults below
    python benchmarks/gpu_step.py --model base --seq-len 2048 --batch-size 16 --compile
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_loader import measure, synth_shards  # noqa: E402
from curate.train.loader import Blend, ShardSet  # noqa: E402
from curate.train.trainer import H100_BF16_DENSE_FLOPS, Runtime, TrainConfig, train  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="small")
    ap.add_argument("--objective", default="clm", choices=["clm", "mlm", "span"])
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--tokens", type=float, default=40e6, help="synthetic shard tokens")
    ap.add_argument("--compile", action="store_true", help="also time a torch.compile run")
    ap.add_argument("--peak-flops", type=float, default=H100_BF16_DENSE_FLOPS)
    ap.add_argument("--allow-cpu", action="store_true", help="run on CPU anyway (a smoke test of this script)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)

    if not torch.cuda.is_available() and not args.allow_cpu:
        print(f"torch {torch.__version__} sees no CUDA device: run this on a GPU machine (or pass --allow-cpu to smoke-test)")
        return 2
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    print(f"device: {dev}; torch {torch.__version__}")
    results = {"device": dev, "torch": torch.__version__, "peak_flops": args.peak_flops, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "shards"
        data.mkdir()
        t0 = time.perf_counter()
        prefixes = synth_shards(data, int(args.tokens))
        print(f"synthetic shards: {args.tokens / 1e6:.0f} M tokens in {time.perf_counter() - t0:.1f}s")
        blend = Blend((1.0,), (ShardSet(prefixes),))
        for s in blend.sets:
            for part in s.parts:
                part.sum()  # warm page cache
        lo = measure(blend, args.seq_len, args.batch_size, seconds=2.0)
        results["loader_tokens_per_s"] = lo["tokens_per_s"]
        print(f"loader: {lo['tokens_per_s'] / 1e6:.1f} M tokens/s at {args.seq_len} x {args.batch_size}")

        modes = [False, True] if args.compile else [False]
        for compiled in modes:
            cfg = TrainConfig(model=args.model, objective=args.objective, steps=args.steps, seq_len=args.seq_len,
                              batch_size=args.batch_size, lr=3e-4, log_every=10, ckpt_every=0, vocab_size=32000)
            rt = Runtime(device="auto", compile=compiled, peak_flops=args.peak_flops if torch.cuda.is_available() else None, quiet=True)
            t0 = time.perf_counter()
            s = train([(1.0, data)], cfg, Path(tmp) / f"out_{int(compiled)}", rt)
            row = {"compile": compiled, "wall_s": time.perf_counter() - t0, **{k: s[k] for k in (
                "tokens_per_s", "peak_memory_bytes", "peak_memory_kind", "mfu", "params", "flops_per_token", "final_train_loss", "device")}}
            results["runs"].append(row)
    print()
    print(f"model {args.model} ({results['runs'][0]['params'] / 1e6:.1f} M params), objective {args.objective}, "
          f"seq {args.seq_len} x batch {args.batch_size}, {args.steps} steps (first step untimed)")
    print(f"{'mode':>8} {'tokens/s':>12} {'peak mem GiB':>13} {'MFU':>7} {'wall s':>7} {'loss':>7}")
    for r in results["runs"]:
        mfu = f"{r['mfu'] * 100:6.1f}%" if r["mfu"] is not None else "    n/a"
        print(f"{'compile' if r['compile'] else 'eager':>8} {r['tokens_per_s']:12,.0f} {r['peak_memory_bytes'] / 2**30:13.2f} {mfu:>7} "
              f"{r['wall_s']:7.1f} {r['final_train_loss']:7.3f}")
    print(f"loader: {results['loader_tokens_per_s'] / 1e6:.1f} M tokens/s "
          f"({results['loader_tokens_per_s'] / max(r['tokens_per_s'] for r in results['runs']):.0f}x what the step consumes)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
