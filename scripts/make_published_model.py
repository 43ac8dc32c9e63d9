"""Write `classifiers/published/hq_vs_cc.ftz`: a fastText quality model made the way a third party would
ship one (DCLM-style labels `__label__hq` / `__label__cc`, cased text on one line, no curate sidecar), so the
demo can show how curate loads a published classifier: pinned by sha256, scored as P(hq), with the
authors' normalization given in the pipeline YAML.

It is trained with the `fasttext` module directly (not `curate classifier train`) on the sample's quality
training sets. One thread and a fixed seed make the file byte-identical on every run.

Usage: ``python scripts/make_published_model.py [--out classifiers/published/hq_vs_cc.ftz]``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import random
import re
import tempfile
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent


def lines(path: Path, label: str) -> list[str]:
    out = []
    with gzip.open(path) as fh:
        for raw in fh:
            text = orjson.loads(raw)["text"]
            out.append(f"__label__{label} " + re.sub(r"\s+", " ", text).strip())  # DCLM: whitespace runs -> one space, case kept
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "classifiers" / "published" / "hq_vs_cc.ftz")
    ap.add_argument("--train", type=Path, default=ROOT / "data" / "sample" / "train")
    args = ap.parse_args(argv)
    import fasttext

    data = lines(args.train / "quality_pos.jsonl.gz", "hq") + lines(args.train / "quality_neg.jsonl.gz", "cc")
    random.Random(7).shuffle(data)
    with tempfile.TemporaryDirectory() as tmp:
        train = Path(tmp) / "train.txt"
        train.write_text("\n".join(data) + "\n", encoding="utf-8")
        model = fasttext.train_supervised(input=str(train), lr=0.3, dim=16, epoch=8, wordNgrams=2, minCount=2, bucket=20_000,
                                          thread=1, seed=7, verbose=0)
        model.quantize(input=str(train), qnorm=True, retrain=False, cutoff=20_000, dsub=2, verbose=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(args.out))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes) sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
