"""Classifier scoring throughput (docs/s) with 1 and 2 processes, the way the annotate stage runs it.

    python benchmarks/bench_classifier.py --corpora CORPORA [--model M.ftz] [--docs 20000]

Without --model, a fastText finance model is trained on the corpora first with the domain recipe's
normalization (stop words + punctuation removed: the slower normalization). Each process loads the
model once and scores 4,096-document Arrow batches through `ClassifierSignal.columns` (normalize +
native predict + Arrow column). Reported: docs/s per setting = documents / wall time of the scoring
phase (processes start and load the model before the clock starts).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.classify.samples import read_texts  # noqa: E402
from curate.signals.base import SignalContext  # noqa: E402
from curate.signals.classifier import ClassifierSignal, ClassifierSignalConfig  # noqa: E402

BATCH = 4096
CORPORA = ["gh_fin_sec10k_risk_factors", "gh_fin_fomc_minutes", "gh_gen_brown", "gh_gen_gutenberg_nltk", "gh_gen_us_speeches"]
_STATE: dict = {}


def _init(model: str, texts: pa.Array) -> None:
    _STATE["sig"] = ClassifierSignal(ClassifierSignalConfig(name="bench", model=model), SignalContext(root=ROOT))
    _STATE["texts"] = texts


def _score(span: tuple[int, int]) -> int:
    sig, texts = _STATE["sig"], _STATE["texts"]
    n = 0
    for start in range(span[0], span[1], BATCH):
        table = pa.table({"text": texts.slice(start, min(BATCH, span[1] - start))})
        n += len(sig.columns(table)["bench_score"])
    return n


def measure(model: str, texts: pa.Array, procs: int) -> float:
    n = len(texts)
    bounds = np.linspace(0, n, procs * 4 + 1).astype(int)
    spans = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
    with mp.get_context("fork").Pool(procs, initializer=_init, initargs=(model, texts)) as pool:
        pool.map(_score, [(0, 1)] * procs)  # warm: every worker has loaded the model
        t = time.perf_counter()
        done = sum(pool.map(_score, spans, chunksize=1))
        dt = time.perf_counter() - t
    assert done == n
    return n / dt


def train_default(corpora: Path, tmp: Path) -> str:
    from curate.classify.recipe import validate_recipe
    from curate.classify.train import train

    recipe = validate_recipe({
        "name": "bench", "backend": "fasttext",
        "positives": [str(corpora / f"{n}.jsonl.gz") for n in CORPORA[:2]],
        "negatives": [str(corpora / f"{n}.jsonl.gz") for n in CORPORA[2:]],
        "normalize": {"prefix_chars": 2000, "strip_punct": True, "drop_stopwords": True},
        "output": str(tmp / "bench"),
    })
    return str(train(recipe, tmp).model_path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", type=Path, required=True, help="folder of *.jsonl.gz benchmark corpora")
    ap.add_argument("--model", default=None, help="a curate classifier file (default: train a fastText finance model)")
    ap.add_argument("--docs", type=int, default=20000, help="documents to score (cycled from the corpora)")
    args = ap.parse_args()
    texts = pa.concat_arrays([a for n in CORPORA for a in read_texts(args.corpora / f"{n}.jsonl.gz")])
    reps = -(-args.docs // len(texts))
    texts = pa.concat_arrays([texts] * reps).slice(0, args.docs)
    mb = pa.compute.sum(pa.compute.binary_length(texts)).as_py() / 1e6
    with tempfile.TemporaryDirectory(prefix="curate-bench-") as tmp:
        model = args.model or train_default(args.corpora, Path(tmp))
        print(f"model {model}; {len(texts):,} docs, {mb:.1f} MB (mean {mb * 1e6 / len(texts):.0f} bytes/doc)")
        for procs in (1, 2):
            rate = measure(model, texts, procs)
            print(f"{procs} process{'es' if procs > 1 else ''}: {rate:,.0f} docs/s ({rate * mb * 1e6 / len(texts) / 1e6:.1f} MB/s)", flush=True)


if __name__ == "__main__":
    main()
