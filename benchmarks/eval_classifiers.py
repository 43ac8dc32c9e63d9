"""Quality bars for curate's classifiers, measured on real corpora with held-out splits.

    python benchmarks/eval_classifiers.py --corpora CORPORA [--backends fasttext,sklearn] [--json OUT]

Tasks (each trained through the same recipe path as `curate classifier train`):
  finance      10-K + FOMC vs Brown + Gutenberg + speeches; the recipe's own held-out split.
  10k->fomc    trained on 10-K vs 80% of the general sets; tested on all FOMC vs the other 20%.
  fomc->10k    the same, the other direction.
  keywords     weak labels from finance-lexicon density (kw_finance_per_1k >= 8 positive, == 0
               negative) over an unlabelled pool (80% of every finance and general set); tested
               with the true labels on the other 20%.
  quality      article bodies vs full pages + spam + webtext; the recipe's held-out split.
Settings (normalization, hyperparameters of both backends, balancing) come from the shipped recipes:
classifiers/finance_domain.yaml for the finance tasks, classifiers/quality.yaml for quality.
The "recommended" threshold is set from held-out *negatives* of the training run only (2% of them
score above it), never from test data. "best" is the test-set-optimal F1, for reference only.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.classify.base import load_classifier  # noqa: E402
from curate.classify.samples import read_texts  # noqa: E402
from curate.classify.evaluate import metrics  # noqa: E402
from curate.classify.recipe import validate_recipe  # noqa: E402
from curate.classify.train import train  # noqa: E402

FIN = ["gh_fin_sec10k_risk_factors", "gh_fin_fomc_minutes"]
GEN = ["gh_gen_brown", "gh_gen_gutenberg_nltk", "gh_gen_us_speeches"]
HQ = ["gh_hq_web_article_body"]
LQ = ["gh_lq_web_fullpage_text", "gh_lq_spamassassin_spam", "gh_lq_nltk_webtext"]
SEED = 0



def shipped(recipe: str) -> dict:
    """Normalization + both backends' hyperparameters + balance of a shipped recipe (classifiers/*.yaml)."""
    import yaml

    data = yaml.safe_load((ROOT / "classifiers" / recipe).read_text())
    return {k: data[k] for k in ("normalize", "fasttext", "sklearn", "balance", "threshold_fpr") if k in data}


DOMAIN = shipped("finance_domain.yaml")
QUALITY = shipped("quality.yaml")


def load(corpora: Path, name: str) -> pa.Array:
    return pa.concat_arrays(list(read_texts(corpora / f"{name}.jsonl.gz")))


def split(texts: pa.Array, frac: float, seed: int) -> tuple[pa.Array, pa.Array]:
    perm = np.random.default_rng(seed).permutation(len(texts))
    k = int(round(len(texts) * frac))
    return texts.take(pa.array(np.sort(perm[k:]))), texts.take(pa.array(np.sort(perm[:k])))


def write_jsonl(path: Path, texts: pa.Array) -> str:
    with gzip.open(path, "wb", compresslevel=1) as fh:
        for t in texts.to_pylist():
            fh.write(orjson.dumps({"text": t}) + b"\n")
    return str(path)


def fit(tmp: Path, name: str, backend: str, pos: list[str], neg: list[str], settings: dict):
    recipe = validate_recipe({
        "name": name, "backend": backend, "positives": pos, "negatives": neg, "seed": SEED,
        **settings, "output": str(tmp / f"{name}_{backend}"),
    }, name)
    res = train(recipe, tmp, recipe_label=name)
    return res, load_classifier(res.model_path)


def test(clf, rec: float, pos: list[pa.Array], neg: list[pa.Array]) -> dict:
    sp = np.concatenate([clf.predict_proba(t) for t in pos])
    sn = np.concatenate([clf.predict_proba(t) for t in neg])
    y = np.r_[np.ones(len(sp), bool), np.zeros(len(sn), bool)]
    return metrics(y, np.r_[sp, sn], [0.5], {"recommended": rec})


def row(task: str, backend: str, m: dict, secs: float, size: int) -> dict:
    return {
        "task": task, "backend": backend, "n_pos": m["n_pos"], "n_neg": m["n_neg"], "roc_auc": m["roc_auc"],
        "f1_at_0.5": m["at"][0]["f1"], "threshold": m["recommended"]["threshold"],
        "f1_at_threshold": m["recommended"]["f1"], "precision": m["recommended"]["precision"],
        "recall": m["recommended"]["recall"], "best_f1": (m["best_f1"] or {}).get("f1"), "train_s": secs, "model_bytes": size,
    }


def keyword_density(texts: pa.Array) -> np.ndarray:
    """kw_finance_per_1k from curate's keyword signal (the shipped finance lexicon)."""
    from curate.signals.base import SignalContext
    from curate.signals.keywords import KeywordConfig, KeywordSignal

    sig = KeywordSignal(KeywordConfig(name="finance"), SignalContext(root=ROOT))
    return sig.columns(pa.table({"text": texts}))["kw_finance_per_1k"].to_numpy(zero_copy_only=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", type=Path, required=True, help="folder of the benchmark corpora (*.jsonl.gz)")
    ap.add_argument("--backends", default="fasttext,sklearn")
    ap.add_argument("--json", type=Path, default=None, help="write the rows as JSON here")
    args = ap.parse_args()
    c = args.corpora
    rows: list[dict] = []
    texts = {n: load(c, n) for n in FIN + GEN + HQ + LQ}
    with tempfile.TemporaryDirectory(prefix="curate-eval-") as tmpd:
        tmp = Path(tmpd)
        files = {n: write_jsonl(tmp / f"{n}.jsonl.gz", texts[n]) for n in texts}
        gen_tr, gen_te = zip(*(split(texts[n], 0.2, SEED) for n in GEN))
        gen_tr_file = write_jsonl(tmp / "gen_train.jsonl.gz", pa.concat_arrays(list(gen_tr)))
        fin_tr, fin_te = zip(*(split(texts[n], 0.2, SEED) for n in FIN))

        # weak labels: the keyword signal over an unlabelled pool (80% of every finance/general set)
        pool = pa.concat_arrays(list(fin_tr) + list(gen_tr))
        dens = keyword_density(pool)
        weak_pos = write_jsonl(tmp / "weak_pos.jsonl.gz", pool.filter(pa.array(dens >= 8)))
        weak_neg = write_jsonl(tmp / "weak_neg.jsonl.gz", pool.filter(pa.array(dens == 0)))
        print(f"keyword weak labels: {int((dens >= 8).sum())} positives, {int((dens == 0).sum())} negatives of {len(pool)} pool docs", flush=True)

        for backend in args.backends.split(","):
            t = time.perf_counter()
            res, _ = fit(tmp, "finance", backend, [files[n] for n in FIN], [files[n] for n in GEN], DOMAIN)
            rows.append(row("finance (held-out)", backend, res.meta["card"]["heldout"], time.perf_counter() - t, res.meta["bytes"]))
            for task, src, dst in (("10k->fomc", FIN[0], FIN[1]), ("fomc->10k", FIN[1], FIN[0])):
                t = time.perf_counter()
                res, clf = fit(tmp, "x" + task.replace("->", "_to_"), backend, [files[src]], [gen_tr_file], DOMAIN)
                secs = time.perf_counter() - t
                rows.append(row(task, backend, test(clf, res.meta["recommended_threshold"], [texts[dst]], list(gen_te)), secs, res.meta["bytes"]))
            t = time.perf_counter()
            res, clf = fit(tmp, "keywords", backend, [weak_pos], [weak_neg], DOMAIN)
            secs = time.perf_counter() - t
            rows.append(row("keyword-bootstrapped", backend, test(clf, res.meta["recommended_threshold"], list(fin_te), list(gen_te)), secs, res.meta["bytes"]))
            t = time.perf_counter()
            res, _ = fit(tmp, "quality", backend, [files[n] for n in HQ], [files[n] for n in LQ], QUALITY)
            rows.append(row("quality (held-out)", backend, res.meta["card"]["heldout"], time.perf_counter() - t, res.meta["bytes"]))
            for r in rows[-5:]:
                print(orjson.dumps(r).decode(), flush=True)

    print("\n| task | backend | pos | neg | ROC-AUC | F1@0.5 | rec. thr | F1@thr | P | R | best F1 | train s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['task']} | {r['backend']} | {r['n_pos']} | {r['n_neg']} | {r['roc_auc']:.4f} | {r['f1_at_0.5']:.4f} | {r['threshold']:.3g} "
              f"| {r['f1_at_threshold']:.4f} | {r['precision']:.4f} | {r['recall']:.4f} | {r['best_f1']:.4f} | {r['train_s']:.1f} |")
    if args.json:
        args.json.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
