"""Iterative self-training on the target pool (recall and retrain, as DeepSeekMath built its math
corpus from Common Crawl in rounds).

Round 0 ranks the pool by the mean percentile rank of the label-free prior scores it is given
(a seed classifier, keyword density, DSIR); the top `start_positive` share becomes confident
positives and the bottom `negative_share` confident negatives. These *pool-side* negatives are the
point: they teach the model the pool's own general genres (software docs, e-mail, web pages),
which the seed data never showed it. Each round then trains fastText on the seed positives (an
anchor that keeps the model on the domain) plus the pool's confident positives against the pool's
confident negatives, and rescores the pool. Scores are cross-fitted: the pool is split into
`folds` seeded folds and each fold is scored by the model trained on the other folds' labels, so
a document's own pseudo-label never scores it. The next round takes positives/negatives from the
new scores (`positive_p`, `negative_p`). Rounds stop when the share of the pool at or above 0.5
moves by less than `min_change` from one round to the next, or after `rounds`.

Every random choice derives from `seed` and fastText trains with one thread, so the same inputs
give byte-identical models and scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from curate.classify.base import NormalizeConfig, english_stopwords
from curate.classify.fasttext_backend import FastTextClassifier, FastTextParams
from curate.errors import CurateError


class SelfTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(6, ge=1, le=20, description="most rounds")
    min_change: float = Field(0.005, ge=0, lt=1, description="stop early when the pool share scoring >= 0.5 moves less than this between rounds")
    folds: int = Field(2, ge=2, le=10, description="cross-fitting folds: a document is scored by a model that did not train on it")
    start_positive: float = Field(0.03, gt=0, lt=0.5, description="round 0: share of the pool (top by prior rank) taken as positives")
    negative_share: float = Field(0.5, gt=0, lt=1, description="round 0: share of the pool (bottom by prior rank) taken as negatives")
    positive_p: float = Field(0.9, gt=0, lt=1, description="later rounds: score at or above which a pool document is a positive")
    negative_p: float = Field(0.1, gt=0, lt=1, description="later rounds: score at or below which a pool document is a negative")
    max_negatives: int = Field(50_000, ge=10, description="cap on pool negatives per round (seeded sample)")
    anchor_max: int = Field(1000, ge=0, description="seed positives kept in every round (0 = none)")
    prefix_chars: int = 2000
    fasttext: FastTextParams = Field(default_factory=lambda: FastTextParams(lr=0.5, dim=16, epoch=10, wordNgrams=2, minCount=2, bucket=200_000, thread=1, quantize=False))


@dataclass
class SelfTrainResult:
    scores: np.ndarray  # final cross-fitted P(domain) per pool document
    rounds: list[dict[str, Any]] = field(default_factory=list)
    models: list[FastTextClassifier] = field(default_factory=list)  # the last round's fold models
    round_scores: list[np.ndarray] = field(default_factory=list)  # each round's cross-fitted scores
    folds: np.ndarray | None = None


def percentile_rank(x: np.ndarray) -> np.ndarray:
    """Rank of each value in [0, 1] (ties share their mean rank)."""
    from scipy.stats import rankdata

    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return np.full(len(x), 0.5)
    return (rankdata(x, method="average") - 1) / (len(x) - 1)


def prior_rank(priors: dict[str, np.ndarray]) -> np.ndarray:
    if not priors:
        raise CurateError("self-training needs at least one prior score (seed model, keywords or DSIR)")
    return np.mean([percentile_rank(v) for v in priors.values()], axis=0)


def _sample(idx: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(idx, cap, replace=False)) if len(idx) > cap else idx


def self_train(
    texts: pa.Array,
    priors: dict[str, np.ndarray],
    anchor: pa.Array | None,
    cfg: SelfTrainConfig | None = None,
    seed: int = 0,
) -> SelfTrainResult:
    cfg = cfg or SelfTrainConfig()
    n = len(texts)
    rng = np.random.default_rng(seed)
    folds = rng.permutation(n) % cfg.folds
    anchor_texts = None
    if anchor is not None and cfg.anchor_max > 0 and len(anchor):
        keep = _sample(np.arange(len(anchor)), cfg.anchor_max, rng)
        anchor_texts = anchor.take(pa.array(keep))
    norm = NormalizeConfig(prefix_chars=cfg.prefix_chars, strip_punct=True, stopwords=english_stopwords())

    rank = prior_rank(priors)
    order = np.argsort(-rank, kind="stable")
    pos = np.sort(order[: max(1, int(round(cfg.start_positive * n)))])
    neg = np.sort(order[n - max(1, int(round(cfg.negative_share * n))):])
    result = SelfTrainResult(scores=rank, folds=folds)
    for r in range(cfg.rounds):
        neg_used = _sample(neg, cfg.max_negatives, rng)
        scores = np.zeros(n)
        models = []
        for k in range(cfg.folds):
            p_k = pos[folds[pos] != k]
            n_k = neg_used[folds[neg_used] != k]
            parts = [texts.take(pa.array(p_k)), texts.take(pa.array(n_k))]
            labels = [np.ones(len(p_k), bool), np.zeros(len(n_k), bool)]
            if anchor_texts is not None:
                parts.insert(0, anchor_texts)
                labels.insert(0, np.ones(len(anchor_texts), bool))
            clf = FastTextClassifier(cfg.fasttext, norm, seed + 1000 * r + k)
            clf.fit(pa.concat_arrays([a.cast(pa.large_string()) for a in parts]), np.concatenate(labels))
            mine = np.flatnonzero(folds == k)
            scores[mine] = clf.predict_proba(texts.take(pa.array(mine)))
            models.append(clf)
        result.rounds.append({
            "round": r,
            "pool_positives": int(len(pos)),
            "pool_negatives": int(len(neg_used)),
            "anchor_positives": 0 if anchor_texts is None else int(len(anchor_texts)),
            "share_at_0.5": float((scores >= 0.5).mean()),
            "share_at_positive_p": float((scores >= cfg.positive_p).mean()),
        })
        result.scores, result.models = scores, models
        result.round_scores.append(scores)
        pos = np.flatnonzero(scores >= cfg.positive_p)
        neg = np.flatnonzero(scores <= cfg.negative_p)
        if len(pos) == 0 or len(neg) == 0:
            break
        if r > 0 and abs(result.rounds[-1]["share_at_0.5"] - result.rounds[-2]["share_at_0.5"]) < cfg.min_change:
            break  # converged: the routed share no longer moves
    return result
