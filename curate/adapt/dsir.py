"""DSIR (Xie et al. 2023, "Data Selection for Language Models via Importance Resampling").

Two bag-of-hashed-n-gram models: one fit on *target* examples (text like what we want), one on
the *raw* pool. A document's importance is log p_target(x) - log p_raw(x) under the models. We
divide by the document's n-gram count (a per-n-gram log-likelihood ratio), so long and short
documents are ranked on the same scale. Everything is a sparse matrix product.

The target model is small and ships with the project (`NgramModel.save` -> `.npz` of bucket
counts, no pickles); the raw model is fit on the run's own pool.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import scipy.sparse as sp

from curate.adapt.ngrams import NgramConfig, NgramFeaturizer
from curate.classify.base import TextsLike
from curate.errors import CurateError
from curate.io.atomic import atomic_path

FORMAT = "curate-ngram-model/1"


class NgramModel:
    """A unigram model over hash buckets with add-`alpha` smoothing (DSIR's feature distribution)."""

    def __init__(self, cfg: NgramConfig, counts: np.ndarray, docs: int, meta: dict[str, Any] | None = None, alpha: float = 1.0):
        if counts.shape != (cfg.n_features,):
            raise CurateError(f"n-gram model has {counts.shape[0]} buckets, its settings say {cfg.n_features}")
        self.cfg = cfg
        self.counts = counts.astype(np.float64)
        self.docs = int(docs)
        self.meta = dict(meta or {})
        self.alpha = alpha
        total = self.counts.sum() + alpha * cfg.n_features
        self.log_probs = np.log((self.counts + alpha) / total)

    @classmethod
    def fit(cls, texts: TextsLike, cfg: NgramConfig | None = None, meta: dict[str, Any] | None = None) -> "NgramModel":
        feat = NgramFeaturizer(cfg)
        return cls.fit_counts(feat.counts(texts), feat.cfg, meta)

    @classmethod
    def fit_counts(cls, x: sp.csr_matrix, cfg: NgramConfig, meta: dict[str, Any] | None = None) -> "NgramModel":
        return cls(cfg, np.asarray(x.sum(axis=0)).ravel(), x.shape[0], meta)

    def save(self, path: str | Path) -> Path:
        """An `.npz` of the bucket counts (float32) plus the settings as JSON text inside it."""
        path = Path(path).with_suffix(".npz")
        info = {"format": FORMAT, "config": self.cfg.model_dump(), "docs": self.docs, "meta": self.meta}
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, counts=self.counts.astype(np.float32), info=np.frombuffer(orjson.dumps(info), np.uint8))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "NgramModel":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                counts, info = z["counts"], orjson.loads(z["info"].tobytes())
        except FileNotFoundError:
            raise CurateError("n-gram model not found", where=str(path), fix="check the path (a .npz written by curate)") from None
        except (OSError, ValueError, KeyError, orjson.JSONDecodeError) as exc:
            raise CurateError(f"not a curate n-gram model ({exc})", where=str(path), fix="rebuild it with benchmarks/../scripts or NgramModel.save") from None
        if info.get("format") != FORMAT:
            raise CurateError(f"n-gram model format {info.get('format')!r}, expected {FORMAT!r}", where=str(path))
        return cls(NgramConfig(**info["config"]), counts, info["docs"], info.get("meta"))

    def sha256(self) -> str:
        return hashlib.sha256(self.counts.astype(np.float32).tobytes()).hexdigest()


def dsir_scores(x: sp.csr_matrix, target: NgramModel, raw: NgramModel) -> np.ndarray:
    """Per-n-gram log-likelihood ratio log p_target - log p_raw of each row of `x` (0 for empty rows)."""
    if target.cfg != raw.cfg:
        raise CurateError("target and raw n-gram models were built with different settings")
    total = np.asarray(x.sum(axis=1)).ravel()
    ratio = x @ (target.log_probs - raw.log_probs)
    out = np.zeros(x.shape[0])
    np.divide(ratio, total, out=out, where=total > 0)
    return out


def score_pool(texts: TextsLike, target: NgramModel) -> tuple[np.ndarray, NgramModel]:
    """DSIR scores of a pool against a target model; the raw model is fit on the pool itself."""
    feat = NgramFeaturizer(target.cfg)
    x = feat.counts(texts)
    raw = NgramModel.fit_counts(x, target.cfg)
    return dsir_scores(x, target, raw), raw
