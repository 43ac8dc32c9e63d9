"""One adaptation task on a pool: prior scores -> (DSIR) -> self-training -> per-document columns.

This is what the `adapt` pipeline stage runs for each task, and what the transfer benchmark
measures as the final routing method, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from curate.adapt.dsir import NgramModel, dsir_scores
from curate.adapt.ngrams import NgramFeaturizer
from curate.adapt.selftrain import SelfTrainConfig, SelfTrainResult, self_train


@dataclass
class TaskResult:
    columns: dict[str, np.ndarray]  # `<name>_score` (final), `<name>_dsir` (when a target is given), `<name>_round<i>`
    report: dict[str, Any] = field(default_factory=dict)
    selftrain: SelfTrainResult | None = None


def run_task(
    name: str,
    texts: pa.Array,
    priors: dict[str, np.ndarray],
    target: NgramModel | None,
    anchor: pa.Array | None,
    cfg: SelfTrainConfig,
    seed: int,
    learn: np.ndarray | None = None,
) -> TaskResult:
    """Learn on the rows where `learn` is True (all by default) and score every row.

    Rows learned on get cross-fitted scores; the others (duplicates, rows beyond a sample) get the
    mean of the last round's fold models. Columns: `<name>_score`, `<name>_dsir` (with a target)
    and, for rows learned on, `<name>_round<i>` (NaN elsewhere).
    """
    n = len(texts)
    learn = np.ones(n, bool) if learn is None else np.asarray(learn, bool)
    idx = np.flatnonzero(learn)
    sub = texts if len(idx) == n else texts.take(pa.array(idx))
    priors = {k: np.asarray(v, np.float64)[idx] for k, v in priors.items()}
    columns: dict[str, np.ndarray] = {}
    if target is not None:
        x = NgramFeaturizer(target.cfg).counts(texts)
        raw = NgramModel.fit_counts(x[idx], target.cfg)
        dsir = dsir_scores(x, target, raw)
        columns[f"{name}_dsir"] = dsir
        priors["dsir"] = dsir[idx]
    st = self_train(sub, priors, anchor, cfg, seed)
    score = np.full(n, np.nan)
    score[idx] = st.scores
    rest = np.flatnonzero(~learn)
    if len(rest):
        rest_texts = texts.take(pa.array(rest))
        score[rest] = np.mean([m.predict_proba(rest_texts) for m in st.models], axis=0)
    for i, s in enumerate(st.round_scores):
        col = np.full(n, np.nan)
        col[idx] = s
        columns[f"{name}_round{i}"] = col
    columns[f"{name}_score"] = score
    report = {
        "documents": int(n),
        "learned_on": int(len(idx)),
        "priors_used": sorted(priors),
        "anchor_documents": 0 if anchor is None else int(len(anchor)),
        "rounds": st.rounds,
        "share_at_0.5": float((score >= 0.5).mean()) if n else 0.0,
    }
    return TaskResult(columns, report, st)
