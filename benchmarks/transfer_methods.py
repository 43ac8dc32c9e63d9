"""The selectors the transfer benchmark compares, all fit without pool labels."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from curate.adapt.dsir import NgramModel, dsir_scores, score_pool
from curate.adapt.ngrams import NgramFeaturizer
from curate.adapt.stack import fit_stack
from curate.adapt.features import keyword_density
from curate.adapt.selftrain import SelfTrainConfig
from curate.adapt.task import run_task
from curate.adapt.thresholds import best_f1_threshold, prf
from curate.classify.base import NormalizeConfig, english_stopwords
from curate.classify.fasttext_backend import FastTextClassifier, FastTextParams
from curate.classify.train import split_heldout


def _oracle(y, s, probability=False):
    t = best_f1_threshold(y, s, probability=probability)
    return {**prf(y, s >= t.value), "threshold": t.value}


def _at(y, s, t):
    return {**prf(y, s >= t), "threshold": float(t)}


SEED_PARAMS = FastTextParams(lr=0.5, dim=16, epoch=25, wordNgrams=2, minCount=2, bucket=200_000, thread=1, quantize=False)


def train_seed(pos: pa.Array, neg: pa.Array, seed: int):
    """The seed classifier as `curate classifier train` would fit it (80/20 split), plus held-out scores."""
    rng = np.random.default_rng(seed)
    p_tr, p_ho = split_heldout(len(pos), 0.2, rng)
    n_tr, n_ho = split_heldout(len(neg), 0.2, rng)
    norm = NormalizeConfig(prefix_chars=2000, strip_punct=True, stopwords=english_stopwords())
    clf = FastTextClassifier(SEED_PARAMS, norm, seed)
    clf.fit(pa.concat_arrays([pos.take(pa.array(p_tr)), neg.take(pa.array(n_tr))]), np.r_[np.ones(len(p_tr), bool), np.zeros(len(n_tr), bool)])
    ho = pa.concat_arrays([pos.take(pa.array(p_ho)), neg.take(pa.array(n_ho))])
    y_ho = np.r_[np.ones(len(p_ho), bool), np.zeros(len(n_ho), bool)]
    return clf, ho, y_ho, clf.predict_proba(ho)


def run_methods(pool, seed: int) -> dict:
    y = pool.labels
    rows = {}
    # keywords: threshold fixed on the seed data (label-free for the pool), and the pool oracle
    kw_pool = keyword_density(pool.texts)
    kw_seed = keyword_density(pa.concat_arrays([pool.seed_pos, pool.seed_neg]))
    y_seed = np.r_[np.ones(len(pool.seed_pos), bool), np.zeros(len(pool.seed_neg), bool)]
    t_kw = best_f1_threshold(y_seed, kw_seed, probability=False).value
    rows["keywords @ seed-data best-F1 threshold"] = _at(y, kw_pool, t_kw)
    rows["keywords @ best threshold (oracle)"] = _oracle(y, kw_pool)

    clf, ho, y_ho, s_ho = train_seed(pool.seed_pos, pool.seed_neg, seed)
    t_seed = best_f1_threshold(y_ho, s_ho).value
    s_seed = clf.predict_proba(pool.texts)
    rows["seed model @ card threshold (best F1, middle)"] = _at(y, s_seed, t_seed)
    rows["seed model @ 0.5"] = _at(y, s_seed, 0.5)
    rows["seed model @ best threshold (oracle)"] = _oracle(y, s_seed, True)

    target = NgramModel.fit(pool.seed_pos)
    s_dsir, raw = score_pool(pool.texts, target)
    seed_texts = pa.concat_arrays([pool.seed_pos, pool.seed_neg])
    d_seed = dsir_scores(NgramFeaturizer(target.cfg).counts(seed_texts), target, raw)
    t_dsir = best_f1_threshold(y_seed, d_seed, probability=False).value
    rows["DSIR @ seed-data best-F1 threshold"] = _at(y, s_dsir, t_dsir)
    rows["DSIR @ best threshold (oracle)"] = _oracle(y, s_dsir)

    # stacked: logistic regression over keywords + seed score + DSIR, fit on the labelled seed data
    # (on the seed model's held-out part: its scores on its own training documents would be overfit)
    d_ho = dsir_scores(NgramFeaturizer(target.cfg).counts(ho), target, raw)
    stack = fit_stack({"kw": keyword_density(ho), "seed": s_ho, "dsir": d_ho}, {"kw": "log1p", "seed": "logit", "dsir": "identity"}, y_ho, seed=seed)
    s_stack = stack.predict_proba({"kw": kw_pool, "seed": s_seed, "dsir": s_dsir})
    rows["stacked (fit on seed data) @ 0.5"] = _at(y, s_stack, 0.5)
    rows["stacked (fit on seed data) @ best threshold (oracle)"] = _oracle(y, s_stack, True)

    # the final method: what the `adapt` stage runs (curate/adapt/task.py), routed at 0.5
    res = run_task("finance", pool.texts, {"seed": s_seed, "keywords": kw_pool}, target, pool.seed_pos, SelfTrainConfig(), seed)
    for r in res.report["rounds"]:
        print("   round", r, flush=True)
    n = len(res.selftrain.round_scores)
    for i, r in enumerate(res.selftrain.round_scores):
        label = "routed: self-trained, final round" if i == n - 1 else f"self-trained round {i}"
        rows[f"{label} @ 0.5"] = _at(y, r, 0.5)
    rows["self-trained final @ best threshold (oracle)"] = _oracle(y, res.selftrain.scores, True)
    rows["_rounds"] = res.report["rounds"]
    return rows
