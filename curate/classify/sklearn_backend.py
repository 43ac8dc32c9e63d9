"""Hashing vectorizer + logistic regression (the GPT-3 quality-filter setup), saved without pickle.

The model is a weight vector over hashed word 1..n-grams: it is stored as `.npz` arrays (read with
`allow_pickle=False`) plus the vectorizer's parameters in the JSON sidecar, and scoring computes
sigmoid(X @ w + b) itself, so a loaded model gives exactly the predictions of the trained one and no
estimator object is ever deserialized. `model: sgd` trains with `partial_fit` over bounded chunks
(streaming-friendly memory); `model: logreg` fits LogisticRegression (lbfgs, deterministic).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from curate.classify.base import Classifier, NormalizeConfig, TextsLike
from curate.errors import CurateError

NPZ_MAGIC = b"PK\x03\x04"


class SklearnParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_features: int = Field(2**18, ge=2**10, le=2**22, description="hash space; 2**18 float32 weights = 1 MB")
    ngram_max: int = Field(2, ge=1, le=3, description="word n-grams 1..ngram_max")
    binary: bool = Field(True, description="presence, not counts: a repeated genre word cannot dominate")
    model: Literal["logreg", "sgd"] = "logreg"
    C: float = Field(1.0, gt=0, description="inverse L2 strength (logreg)")
    alpha: float = Field(1e-5, gt=0, description="L2 strength (sgd)")
    epochs: int = Field(5, ge=1, le=100, description="passes over the data (sgd)")
    chunk_size: int = Field(10_000, ge=100, description="documents vectorized at once (bounds memory)")
    max_iter: int = Field(1000, ge=10)


class SklearnClassifier(Classifier):
    kind = "sklearn"
    suffix = ".npz"
    magic = NPZ_MAGIC

    def __init__(self, params: SklearnParams | None = None, normalize: NormalizeConfig | None = None, seed: int = 0):
        super().__init__(params or SklearnParams(), normalize or NormalizeConfig(), seed)
        self.coef: np.ndarray | None = None
        self.intercept = 0.0
        self._vec = self._vectorizer()

    def _vectorizer(self):
        from sklearn.feature_extraction.text import HashingVectorizer

        p = self.params
        return HashingVectorizer(
            n_features=p.n_features, ngram_range=(1, p.ngram_max), alternate_sign=False, binary=p.binary,
            norm="l2", lowercase=False, dtype=np.float32,
        )

    def fit(self, texts: TextsLike, labels: np.ndarray) -> "SklearnClassifier":
        y = np.asarray(labels, dtype=bool)
        if y.all() or not y.any():
            raise CurateError("training needs both positive and negative examples", fix="check the recipe's positives/negatives")
        p = self.params
        x = self.normalizer(texts)
        if len(x) != len(y):
            raise CurateError(f"{len(x)} texts but {len(y)} labels")
        if p.model == "logreg":
            from sklearn.linear_model import LogisticRegression

            clf = LogisticRegression(C=p.C, max_iter=p.max_iter, solver="lbfgs")
            clf.fit(self._vec.transform(x.to_pylist()), y)
        else:
            from sklearn.linear_model import SGDClassifier

            clf = SGDClassifier(loss="log_loss", alpha=p.alpha, random_state=self.seed, shuffle=False)
            rng = np.random.default_rng(self.seed)
            for _ in range(p.epochs):
                order = rng.permutation(len(y))
                for start in range(0, len(y), p.chunk_size):
                    idx = order[start : start + p.chunk_size]
                    clf.partial_fit(self._vec.transform(x.take(idx).to_pylist()), y[idx], classes=np.array([False, True]))
        self.coef = np.asarray(clf.coef_[0], dtype=np.float64)
        self.intercept = float(clf.intercept_[0])
        return self

    def predict_proba(self, texts: TextsLike) -> np.ndarray:
        if self.coef is None:
            raise CurateError("the classifier is not trained or loaded")
        x = self.normalizer(texts)
        out = np.empty(len(x), dtype=np.float64)
        step = self.params.chunk_size
        for start in range(0, len(x), step):
            z = self._vec.transform(x.slice(start, step).to_pylist()) @ self.coef + self.intercept
            out[start : start + step] = 1.0 / (1.0 + np.exp(-z))
        return out

    def _write_model(self, path: Path) -> None:
        if self.coef is None:
            raise CurateError("nothing to save: the classifier is not trained")
        # np.savez stamps the current time into the zip; fixed timestamps keep reruns byte-identical
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, arr in (("coef", self.coef), ("intercept", np.array([self.intercept]))):
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w") as fh:
                    np.lib.format.write_array(fh, arr, allow_pickle=False)
        path.write_bytes(buf.getvalue())

    @classmethod
    def _read_model(cls, path: Path, meta: dict[str, Any]) -> "SklearnClassifier":
        clf = cls(SklearnParams(**meta["params"]), NormalizeConfig(**meta["normalize"]), int(meta.get("seed", 0)))
        with np.load(path, allow_pickle=False) as npz:
            if set(npz.files) != {"coef", "intercept"}:
                raise CurateError(f"arrays {sorted(npz.files)} are not coef/intercept", where=str(path), fix="retrain with `curate classifier train`")
            coef, intercept = npz["coef"], npz["intercept"]
        if coef.shape != (clf.params.n_features,) or coef.dtype != np.float64 or intercept.shape != (1,):
            raise CurateError(f"coef shape {coef.shape} does not match n_features={clf.params.n_features}", where=str(path), fix="retrain with `curate classifier train`")
        clf.coef, clf.intercept = coef, float(intercept[0])
        return clf
