"""Adaptation to a pool without its labels: threshold rules, DSIR, self-training (determinism and
transfer) on generated genres the seed data never saw."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from adapt_fixtures import pool, seed_sets
from curate.adapt.dsir import NgramModel, score_pool
from curate.adapt.features import keyword_density
from curate.adapt.ngrams import NgramConfig
from curate.adapt.selftrain import SelfTrainConfig, self_train
from curate.adapt.stack import StackedModel, fit_stack
from curate.adapt.task import run_task
from curate.adapt.thresholds import best_f1_threshold, precision_threshold, prf
from curate.classify.base import NormalizeConfig, english_stopwords, sha256_file
from curate.classify.fasttext_backend import FastTextClassifier, FastTextParams
from curate.errors import CurateError

SMALL = NgramConfig(n_features=1 << 12)
FAST = SelfTrainConfig(rounds=2, folds=2, min_change=0.0, fasttext=FastTextParams(lr=0.5, dim=16, epoch=10, wordNgrams=2, minCount=1, bucket=20_000, thread=1, quantize=False))


# --- thresholds ------------------------------------------------------------------------------------

def test_best_f1_threshold_on_separable_data_is_the_middle_of_the_gap():
    y = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    s = np.r_[np.linspace(0.9, 0.99, 50), np.linspace(1e-4, 1e-3, 50)]  # a rule from negatives alone would sit at ~1e-3
    t = best_f1_threshold(y, s)
    assert (t.lo, t.hi) == (pytest.approx(1e-3), pytest.approx(0.9))
    # the middle in logit space, far from both classes
    assert 0.02 < t.value < 0.5 and t.f1 == 1.0 and t.precision == 1.0 and t.recall == 1.0
    z = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert z(t.value) - z(1e-3) == pytest.approx(z(0.9) - z(t.value))
    assert prf(y, s >= t.value)["f1"] == 1.0


def test_best_f1_threshold_overlapping_and_raw_scores():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(200, bool), np.zeros(800, bool)]
    s = np.r_[rng.normal(2, 1, 200), rng.normal(0, 1, 800)]
    t = best_f1_threshold(y, s, probability=False)
    f_at = prf(y, s >= t.value)["f1"]
    assert f_at == pytest.approx(t.f1)
    grid = [prf(y, s >= g)["f1"] for g in np.linspace(-3, 5, 400)]
    assert t.f1 >= max(grid) - 1e-9
    p = precision_threshold(y, 1 / (1 + np.exp(-s)), 0.9)
    assert p.precision >= 0.9 and prf(y, 1 / (1 + np.exp(-s)) >= p.value)["precision"] >= 0.9


def test_recipe_threshold_rule_on_separable_data(tmp_path):
    from classifier_fixtures import write_jsonl_gz
    from curate.classify.recipe import validate_recipe
    from curate.classify.train import train

    pos, neg = seed_sets(150, 3)
    rec = validate_recipe({
        "name": "sep", "positives": [str(write_jsonl_gz(tmp_path / "p.jsonl.gz", pos))],
        "negatives": [str(write_jsonl_gz(tmp_path / "n.jsonl.gz", neg))],
        "fasttext": {"lr": 0.5, "epoch": 10, "quantize": False}, "normalize": {"strip_punct": True, "drop_stopwords": True},
        "output": str(tmp_path / "sep"),
    })
    res = train(rec, tmp_path)
    held = res.meta["card"]["heldout"]
    assert held["roc_auc"] == 1.0  # the classes separate
    t = res.meta["recommended_threshold"]
    assert 0.05 < t < 0.95, t  # not collapsed toward the top of the negatives
    assert held["recommended"]["f1"] == 1.0
    assert "middle of the tied interval" in res.meta["card"]["threshold_criterion"]
    assert "in-distribution" in res.model_path.with_suffix(".md").read_text()


# --- DSIR --------------------------------------------------------------------------------------------

def test_dsir_ranks_target_like_documents_first_and_round_trips(tmp_path):
    fin, gen = seed_sets(80, 5)
    target = NgramModel.fit(fin[:40], SMALL)
    texts = fin[40:] + gen[:40]
    scores, raw = score_pool(pa.array(texts), target)
    assert raw.docs == 80 and scores.shape == (80,)
    assert scores[:40].min() > scores[40:].max()
    path = target.save(tmp_path / "t.npz")
    again = NgramModel.load(path)
    assert again.cfg == target.cfg and np.array_equal(again.counts, target.counts.astype(np.float32))
    assert np.allclose(score_pool(pa.array(texts), again)[0], scores, atol=1e-6)
    # empty documents score 0, not NaN
    s, _ = score_pool(pa.array(["", "the of and"]), target)
    assert np.isfinite(s).all() and s[0] == 0
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(CurateError, match="bad.npz"):
        NgramModel.load(tmp_path / "bad.npz")


# --- self-training ------------------------------------------------------------------------------------

def _seed_model(seed: int = 0) -> FastTextClassifier:
    pos, neg = seed_sets(200, 1)
    clf = FastTextClassifier(FastTextParams(lr=0.5, epoch=10, minCount=1, bucket=20_000, quantize=False),
                             NormalizeConfig(strip_punct=True, stopwords=english_stopwords()), seed)
    return clf.fit(pa.array(pos + neg), np.r_[np.ones(200, bool), np.zeros(200, bool)])


@pytest.fixture(scope="module")
def transfer_case():
    texts, y = pool(600, 7)
    arr = pa.array(texts, pa.large_string())
    clf = _seed_model()
    anchor = pa.array(seed_sets(100, 9)[0], pa.large_string())
    return arr, y, {"seed": clf.predict_proba(arr), "keywords": keyword_density(arr)}, anchor


def test_self_training_adapts_to_unseen_genres(transfer_case):
    arr, y, priors, anchor = transfer_case
    seed_f1 = max(prf(y, priors["seed"] >= t)["f1"] for t in (0.5, 0.9))
    st = self_train(arr, priors, anchor, FAST, seed=0)
    routed = prf(y, st.scores >= 0.5)
    assert seed_f1 < 0.6, seed_f1  # the case does test transfer: the seed model alone fails here
    assert routed["f1"] >= 0.9, (routed, seed_f1)
    assert len(st.rounds) == 2 and st.rounds[0]["pool_positives"] == round(0.03 * 600)
    assert len(st.models) == FAST.folds and st.folds is not None and set(np.unique(st.folds)) == {0, 1}


def test_self_training_is_deterministic(transfer_case, tmp_path):
    arr, y, priors, anchor = transfer_case
    a = self_train(arr, priors, anchor, FAST, seed=3)
    b = self_train(arr, priors, anchor, FAST, seed=3)
    assert np.array_equal(a.scores, b.scores) and a.rounds == b.rounds
    for k, (ma, mb) in enumerate(zip(a.models, b.models)):
        pa_, pb_ = ma.save(tmp_path / f"a{k}"), mb.save(tmp_path / f"b{k}")
        assert sha256_file(pa_) == sha256_file(pb_)
    assert np.array_equal(a.scores >= 0.5, b.scores >= 0.5)  # same routing
    c = self_train(arr, priors, anchor, FAST, seed=4)
    assert not np.array_equal(a.folds, c.folds)  # the seed is used


def test_run_task_columns_and_report(transfer_case):
    arr, y, priors, anchor = transfer_case
    fin, _ = seed_sets(100, 11)
    res = run_task("fin", arr, priors, NgramModel.fit(fin, SMALL), None, FAST, seed=0)
    assert set(res.columns) == {"fin_score", "fin_dsir", "fin_round0", "fin_round1"}
    assert all(len(v) == len(arr) and np.isfinite(v).all() for v in res.columns.values())
    assert res.report["priors_used"] == ["dsir", "keywords", "seed"] and len(res.report["rounds"]) == 2
    with pytest.raises(CurateError):
        self_train(arr, {}, None, FAST)


def test_stacked_model_fits_and_round_trips():
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.3
    cols = {"kw": np.where(y, rng.gamma(5, 4, 400), rng.gamma(1, 2, 400)), "seed": np.where(y, rng.beta(5, 2, 400), rng.beta(2, 5, 400))}
    m = fit_stack(cols, {"kw": "log1p", "seed": "logit"}, y)
    p = m.predict_proba(cols)
    assert prf(y, p >= 0.5)["f1"] > 0.8 and (m.coef > 0).all()
    assert np.allclose(StackedModel.from_dict(m.as_dict()).predict_proba(cols), p)
