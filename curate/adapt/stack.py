"""A small stacked model: logistic regression over per-document scores (keyword density, classifier
scores, DSIR). Features are transformed to a common scale first (logit for probabilities,
log1p for densities), standardized, and the fitted weights are plain numbers stored as JSON."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.adapt.thresholds import logit, sigmoid

TRANSFORMS = {"logit": logit, "log1p": lambda v: np.log1p(np.maximum(v, 0)), "identity": lambda v: v}


@dataclass
class StackedModel:
    features: list[str]
    transforms: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def _matrix(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        x = np.column_stack([TRANSFORMS[t](np.asarray(columns[f], np.float64)) for f, t in zip(self.features, self.transforms)])
        return (x - self.mean) / self.scale

    def predict_proba(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        return sigmoid(self._matrix(columns) @ self.coef + self.intercept)

    def as_dict(self) -> dict:
        return {"features": self.features, "transforms": self.transforms, "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept}

    @classmethod
    def from_dict(cls, d: dict) -> "StackedModel":
        return cls(list(d["features"]), list(d["transforms"]), np.asarray(d["mean"]), np.asarray(d["scale"]), np.asarray(d["coef"]), float(d["intercept"]))


def fit_stack(columns: dict[str, np.ndarray], transforms: dict[str, str], y: np.ndarray, C: float = 1.0, seed: int = 0) -> StackedModel:
    """Balanced logistic regression (lbfgs, deterministic) over the named columns."""
    from sklearn.linear_model import LogisticRegression

    names = sorted(transforms)
    x = np.column_stack([TRANSFORMS[transforms[f]](np.asarray(columns[f], np.float64)) for f in names])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=1000, random_state=seed)
    lr.fit((x - mean) / scale, np.asarray(y, bool))
    return StackedModel(names, [transforms[f] for f in names], mean, scale, lr.coef_.ravel().astype(np.float64), float(lr.intercept_[0]))
