"""Threshold rules with a stated criterion.

`best_f1_threshold`: the threshold with the best F1 on labelled held-out scores. Every threshold
between two neighbouring distinct scores gives the same predictions, so the best F1 holds on an
interval; we return the middle of it (in logit space for probabilities), not an end. On separable
data (all negatives below all positives) the interval is the whole gap between the classes and the
rule returns its middle, where a rule like "2% of negatives above" would return the top of the
negatives and collapse toward 0.

`precision_threshold`: the lowest threshold whose held-out precision reaches a target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

_EPS = 1e-12


def logit(p: np.ndarray | float) -> np.ndarray | float:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


@dataclass(frozen=True)
class Threshold:
    value: float
    criterion: str
    precision: float
    recall: float
    f1: float
    lo: float  # the tied interval the value is the middle of (best-F1 rule)
    hi: float

    def as_dict(self) -> dict:
        return asdict(self)


def _curve(y: np.ndarray, s: np.ndarray):
    """Distinct scores ascending and P/R/F1 of predicting `s >= u[i]` for each."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(~y_sorted)
    # the last index of each run of equal scores (descending): predicting s >= that score
    last = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), len(s_sorted) - 1]
    u, tp, fp = s_sorted[last], tp[last].astype(float), fp[last].astype(float)
    pos = float(y.sum())
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / max(pos, 1)
    f1 = np.where(tp > 0, 2 * precision * recall / np.maximum(precision + recall, _EPS), 0.0)
    return u[::-1], precision[::-1], recall[::-1], f1[::-1]


def best_f1_threshold(y: np.ndarray, s: np.ndarray, probability: bool = True) -> Threshold:
    """Best held-out F1; the middle of the widest tied interval (logit space when `probability`)."""
    u, p, r, f = _curve(y, s)
    if len(u) == 0:
        raise ValueError("no scores")
    best = f.max()
    tied = np.isclose(f, best, rtol=0, atol=1e-12)
    # runs of consecutive tied indices; take the widest (in score space) run
    idx = np.flatnonzero(tied)
    runs = np.split(idx, np.flatnonzero(np.diff(idx) != 1) + 1)
    to = logit if probability else (lambda v: v)
    back = sigmoid if probability else (lambda v: v)

    def bounds(run: np.ndarray) -> tuple[float, float]:
        hi = u[run[-1]]  # predicting s >= hi is tied; so is anything down to just above the score below run[0]
        lo = u[run[0] - 1] if run[0] > 0 else (0.0 if probability else u[0] - 1.0)
        return float(lo), float(hi)

    widths = [to(b[1]) - to(b[0]) for b in map(bounds, runs)]
    run = runs[int(np.argmax(widths))]
    lo, hi = bounds(run)
    value = float(back((to(lo) + to(hi)) / 2))
    i = run[0]
    return Threshold(value, "best held-out F1, middle of the tied interval", float(p[i]), float(r[i]), float(f[i]), lo, hi)


def precision_threshold(y: np.ndarray, s: np.ndarray, target: float) -> Threshold:
    """The lowest threshold whose held-out precision is at least `target` (else the best-precision one)."""
    u, p, r, f = _curve(y, s)
    ok = np.flatnonzero(p >= target)
    i = int(ok[0]) if len(ok) else int(np.argmax(p))
    return Threshold(float(u[i]), f"lowest threshold with held-out precision >= {target}", float(p[i]), float(r[i]), float(f[i]), float(u[i]), float(u[i]))


def prf(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 of boolean predictions."""
    y = np.asarray(y, bool)
    pred = np.asarray(pred, bool)
    tp = float((y & pred).sum())
    p = tp / max(pred.sum(), 1)
    r = tp / max(y.sum(), 1)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "kept": float(pred.mean()) if len(pred) else 0.0}
