"""The heuristics signal against the frozen Arrow-splitting version it replaced (tests/reference_heuristics.py),
in one process, interleaved: first checks that every column is identical on every batch, then times
`columns()` of both over the same Arrow batches, sides alternating per round (CPU seconds; MB of text
per CPU-second is a per-core figure).

    python benchmarks/bench_heuristics_ab.py POOL [--batch-docs 2000] [--rounds 3]

POOL is a folder of `*.jsonl.gz` files (e.g. the output of `make_short_pool.py`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_kernels import read_batches  # noqa: E402
from reference_heuristics import ReferenceHeuristics  # noqa: E402

from curate.signals.base import SignalContext  # noqa: E402
from curate.signals.heuristics import HeuristicsConfig, HeuristicsSignal  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pool", type=Path)
    ap.add_argument("--batch-docs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    batches, total = read_batches(args.pool, args.batch_docs)
    mb = total / 1e6
    old = ReferenceHeuristics(HeuristicsConfig())
    new = HeuristicsSignal(HeuristicsConfig(), SignalContext())
    differ = [(i, k) for i, b in enumerate(batches) for k, v in old.columns(b).items() if not v.equals(new.columns(b)[k])]
    print(f"{sum(b.num_rows for b in batches):,} docs, {mb:.1f} MB, {len(batches)} batches; "
          f"columns differing: {len(differ)} {differ[:5]}; load {os.getloadavg()}")
    times: dict[str, list[float]] = {"before": [], "after": []}
    for r in range(args.rounds):
        sides = [("before", old), ("after", new)]
        for name, sig in sides if r % 2 == 0 else sides[::-1]:
            t = time.process_time()
            for b in batches:
                sig.columns(b)
            times[name].append(time.process_time() - t)
    for name, secs in times.items():
        print(f"{name:<7} cpu s {', '.join(f'{s:.2f}' for s in secs):<20} {mb / min(secs):6.1f} MB/s per core")
    print("before / after per round: " + ", ".join(f"{a / b:.2f}" for a, b in zip(times["before"], times["after"])))
    print(f"load {os.getloadavg()}")


if __name__ == "__main__":
    main()
