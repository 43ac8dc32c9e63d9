"""Build a pool of short documents (~1 KB each) from benchmark corpora.

Web-crawl documents are short; the benchmark corpora hold longer chunks. This script cuts every
document of each `*.jsonl.gz` under CORPORA into pieces of about `--target-bytes` UTF-8 bytes, at line
boundaries where possible (a line longer than twice the target is cut at sentence ends, then at
spaces), and writes one `*.jsonl.gz` per input file into OUT with the same name. Each piece gets a
distinct id `<original id>-<k>` and keeps the original `source` field. Deterministic: same inputs and
options give the same files.

    python benchmarks/make_short_pool.py CORPORA OUT [--target-bytes 1000] [--max-mb 0]

`--max-mb` caps the text written per input file (0 = no cap), taking documents in file order.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

import orjson

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _pieces(line: str, target: int) -> list[str]:
    """A line cut into parts no longer than ~2x target bytes (sentence ends first, then spaces)."""
    if len(line.encode("utf-8")) <= 2 * target:
        return [line]
    out: list[str] = []
    cur = ""
    for sent in _SENTENCE_END.split(line):
        words = [sent] if len(sent.encode("utf-8")) <= 2 * target else sent.split(" ")
        for w in words:
            if cur and len((cur + " " + w).encode("utf-8")) > target:
                out.append(cur)
                cur = w
            else:
                cur = f"{cur} {w}" if cur else w
    if cur:
        out.append(cur)
    return out


def chunk(text: str, target: int) -> list[str]:
    """Consecutive pieces of `text` of about `target` UTF-8 bytes, cut at line boundaries."""
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    for line in text.split("\n"):
        for piece in _pieces(line, target):
            cur.append(piece)
            size += len(piece.encode("utf-8")) + 1
            if size >= target:
                chunks.append("\n".join(cur).strip())
                cur, size = [], 0
    tail = "\n".join(cur).strip()
    if tail:
        if chunks and size < target // 3:  # a short tail joins the previous piece
            chunks[-1] = chunks[-1] + "\n" + tail
        else:
            chunks.append(tail)
    return [c for c in chunks if c]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpora", type=Path, help="folder of *.jsonl.gz files with id, text (and source) fields")
    ap.add_argument("out", type=Path, help="output folder (created)")
    ap.add_argument("--target-bytes", type=int, default=1000)
    ap.add_argument("--max-mb", type=float, default=0.0, help="cap on text MB written per input file (0: none)")
    args = ap.parse_args(argv)
    files = sorted(args.corpora.glob("*.jsonl.gz"))
    if not files:
        sys.exit(f"no *.jsonl.gz under {args.corpora}")
    args.out.mkdir(parents=True, exist_ok=True)
    total_docs = total_bytes = 0
    for path in files:
        docs = size = 0
        cap = args.max_mb * 1e6
        with gzip.open(path, "rb") as src, gzip.open(args.out / path.name, "wb", compresslevel=6) as dst:
            for line in src:
                if not line.strip():
                    continue
                rec = orjson.loads(line)
                for k, piece in enumerate(chunk(rec.get("text") or "", args.target_bytes)):
                    out = {"id": f"{rec.get('id', docs)}-{k}", "text": piece}
                    if "source" in rec:
                        out["source"] = rec["source"]
                    dst.write(orjson.dumps(out) + b"\n")
                    docs += 1
                    size += len(piece.encode("utf-8"))
                if cap and size >= cap:
                    break
        print(f"{path.name}: {docs:,} documents, {size / 1e6:.1f} MB of text")
        total_docs += docs
        total_bytes += size
    print(f"total: {total_docs:,} documents, {total_bytes / 1e6:.1f} MB, mean {total_bytes / max(total_docs, 1):,.0f} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
