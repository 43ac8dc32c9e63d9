"""One adaptation task on a pool: prior scores -> (DSIR) -> self-training -> per-document columns.

This is what the `adapt` pipeline stage runs for each task, and what the transfer benchmark
measures as the final routing method, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from curate.adapt.dsir import NgramModel, score_pool
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
) -> TaskResult:
    priors = {k: np.asarray(v, np.float64) for k, v in priors.items()}
    columns: dict[str, np.ndarray] = {}
    if target is not None:
        dsir, _ = score_pool(texts, target)
        columns[f"{name}_dsir"] = dsir
        priors["dsir"] = dsir
    st = self_train(texts, priors, anchor, cfg, seed)
    for i, s in enumerate(st.round_scores):
        columns[f"{name}_round{i}"] = s
    columns[f"{name}_score"] = st.scores
    report = {
        "documents": int(len(texts)),
        "priors": sorted(priors),
        "anchor_documents": 0 if anchor is None else int(len(anchor)),
        "rounds": st.rounds,
        "share_at_0.5": float((st.scores >= 0.5).mean()) if len(texts) else 0.0,
    }
    return TaskResult(columns, report, st)
