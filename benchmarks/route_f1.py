"""Routed F1 of a `curate run` on a labelled pool: how well role `domain` matches the labels.

    python benchmarks/route_f1.py RUN LABELS.jsonl [--role domain] [--source pool]

LABELS.jsonl holds {"id", "finance": bool, "genre"} per pool document (benchmarks/transfer.py
--write-pools writes it). A document the run dropped, or routed to another role, counts as not
`domain`. Prints precision, recall, F1 and where the documents of each genre went.
"""

from __future__ import annotations

import argparse
import glob
from collections import Counter
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path)
    ap.add_argument("labels", type=Path)
    ap.add_argument("--role", default="domain")
    ap.add_argument("--source", default="pool")
    args = ap.parse_args(argv)
    labels = {}
    genre = {}
    for line in args.labels.read_bytes().splitlines():
        r = orjson.loads(line)
        labels[r["id"]], genre[r["id"]] = bool(r["finance"]), r["genre"]
    files = sorted(glob.glob(str(args.run / "selected" / args.source / "*.parquet")))
    t = pa.concat_tables([pq.read_table(f, columns=["id", "role"]) for f in files]) if files else pa.table({"id": [], "role": []})
    role = dict(zip(t.column("id").to_pylist(), t.column("role").to_pylist()))
    tp = sum(1 for i, y in labels.items() if y and role.get(i) == args.role)
    pred = sum(1 for i in labels if role.get(i) == args.role)
    pos = sum(labels.values())
    p, r = tp / max(pred, 1), tp / max(pos, 1)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"{args.run}: role {args.role!r} precision {p:.3f} recall {r:.3f} F1 {f1:.3f} ({pred} routed, {pos} labelled finance, {len(labels)} in pool)")
    where = Counter((genre[i], role.get(i, "dropped")) for i in labels)
    for g in sorted({g for g, _ in where}):
        print(f"  {g:32s} " + "  ".join(f"{ro}: {n}" for (gg, ro), n in sorted(where.items()) if gg == g))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
