"""Held-out metrics and charts for a binary scorer: P/R/F1 at thresholds, ROC-AUC, PR curve, histograms.

Used by `train` (the model card's numbers), by `curate classifier eval`, and by the benchmarks, so a
figure means the same thing everywhere. Everything is numpy over whole score arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def confusion_at(y: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall, F1 and accuracy when `score >= threshold` predicts positive."""
    y = np.asarray(y, dtype=bool)
    pred = np.asarray(s) >= threshold
    tp = int(np.sum(pred & y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    tn = int(np.sum(~pred & ~y))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "threshold": float(threshold), "precision": precision, "recall": recall, "f1": f1,
        "accuracy": (tp + tn) / len(y) if len(y) else 0.0, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "kept_fraction": float(np.mean(pred)) if len(y) else 0.0,
    }


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, s))


def best_f1(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    """The threshold with the highest F1 (for reference; choosing it on test data is optimistic)."""
    from sklearn.metrics import precision_recall_curve

    p, r, t = precision_recall_curve(np.asarray(y, dtype=bool), s)
    f = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0.0)[:-1]
    i = int(np.argmax(f)) if len(f) else 0
    return {"threshold": float(t[i]) if len(t) else 0.5, "f1": float(f[i]) if len(f) else 0.0}


def fpr_threshold(neg_scores: np.ndarray, fpr: float) -> float:
    """The score above which a share `fpr` of negatives falls: a threshold set without positives."""
    if len(neg_scores) == 0:
        return 0.5
    return float(np.quantile(np.asarray(neg_scores, dtype=np.float64), 1.0 - fpr, method="higher"))


def metrics(y: np.ndarray, s: np.ndarray, thresholds: list[float], extra_thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s, dtype=np.float64)
    out: dict[str, Any] = {
        "n_pos": int(y.sum()), "n_neg": int((~y).sum()),
        "roc_auc": roc_auc(y, s),
        "at": [confusion_at(y, s, t) for t in thresholds],
        "best_f1": best_f1(y, s) if y.any() and (~y).any() else None,
    }
    for name, t in (extra_thresholds or {}).items():
        out[name] = confusion_at(y, s, t)
    return out


def threshold_table(m: dict[str, Any]) -> str:
    """Markdown table of the per-threshold figures."""
    rows = ["| threshold | precision | recall | F1 | kept |", "|---:|---:|---:|---:|---:|"]
    for r in m["at"]:
        rows.append(f"| {r['threshold']:.3g} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['kept_fraction']:.3f} |")
    return "\n".join(rows)


def plot_pr_curve(y: np.ndarray, s: np.ndarray, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    p, r, _ = precision_recall_curve(np.asarray(y, dtype=bool), s)
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(r, p, lw=1.5)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def plot_histograms(scores_by_source: dict[str, np.ndarray], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    bins = np.linspace(0, 1, 41)
    for name in sorted(scores_by_source):
        ax.hist(scores_by_source[name], bins=bins, histtype="step", lw=1.5, label=f"{name} (n={len(scores_by_source[name])})")
    ax.set_xlabel("score")
    ax.set_ylabel("documents")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def _save(fig, path: Path) -> None:
    from curate.io.atomic import atomic_path

    # fixed metadata: matplotlib would otherwise stamp its version/date into the PNG
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})


def evaluate_files(model_path: str | Path, pos: list[str], neg: list[str], thresholds: list[float], out_dir: str | Path | None = None, text_field: str = "text", max_docs: int | None = None) -> dict[str, Any]:
    """Score labelled files with a saved model: metrics (+ the model's recommended threshold), PNGs, eval.json.

    `pos`/`neg` are paths or globs (JSONL/.gz/.zst/Parquet); each one is a source (named by its file
    stem when it is one file, else by the pattern as given), with one curve in the score histogram.
    `max_docs` keeps the first N documents of each file (bounded memory and time on large sets).
    Empty files are listed in `warnings`; no document at all on one side is an InputError.
    """
    from curate.classify.base import load_classifier, read_meta
    from curate.classify.samples import read_texts, resolve_glob
    from curate.errors import InputError
    from curate.io.formats import file_stem
    from curate.io.atomic import write_json

    model_path = Path(model_path)
    clf = load_classifier(model_path)
    meta = read_meta(model_path)
    by_source: dict[str, np.ndarray] = {}
    labels: dict[str, bool] = {}
    files_of: dict[str, dict[str, int]] = {}
    warnings: list[str] = []
    for label, patterns in ((True, pos), (False, neg)):
        flag = "--pos" if label else "--neg"
        for pattern in patterns:
            paths = resolve_glob(pattern, Path.cwd(), flag)
            name = file_stem(paths[0]) if len(paths) == 1 else pattern
            if name in by_source:  # the same name twice (e.g. a.jsonl in two folders): keep both apart
                name = f"{name} ({flag} {pattern})"
            parts, counts = [], {}
            for path in paths:
                n = 0
                for texts in read_texts(path, text_field):
                    if max_docs is not None:
                        texts = texts.slice(0, max_docs - n)
                    parts.append(clf.predict_proba(texts))
                    n += len(texts)
                    if max_docs is not None and n >= max_docs:
                        break
                counts[str(path)] = n
                if n == 0:
                    warnings.append(f"{path} ({flag}) holds no documents")
            by_source[name] = np.concatenate([np.zeros(0), *parts])
            labels[name] = label
            files_of[name] = counts
    for label, flag in ((True, "--pos"), (False, "--neg")):
        if not any(len(v) for k, v in by_source.items() if labels[k] == label):
            given = ", ".join(k for k in by_source if labels[k] == label)
            raise InputError(f"no {'positive' if label else 'negative'} documents to score: {given} hold none", where=flag,
                             fix=f"pass {flag} files that hold documents (and check --text-field `{text_field}`)")
    y = np.concatenate([np.full(len(v), labels[k]) for k, v in sorted(by_source.items())]).astype(bool)
    s = np.concatenate([v for _, v in sorted(by_source.items())])
    extra = {"recommended": float(meta["recommended_threshold"])} if meta.get("recommended_threshold") is not None else {}
    result = metrics(y, s, thresholds, extra)
    result["model"] = str(model_path)
    result["sources"] = {
        k: {"label": "positive" if labels[k] else "negative", "n": int(len(v)), "mean_score": float(np.mean(v)) if len(v) else None,
            "files": files_of[k]}
        for k, v in sorted(by_source.items())
    }
    result["warnings"] = warnings
    if out_dir is not None:
        out = Path(out_dir)
        name = model_path.stem
        result["pr_curve_png"] = str(plot_pr_curve(y, s, out / f"{name}_pr_curve.png", f"{name}: precision-recall"))
        shown = {k: v for k, v in by_source.items() if len(v)}  # one figure, one curve per source
        result["histogram_png"] = str(plot_histograms(shown, out / f"{name}_scores.png", f"{name}: scores per source"))
        write_json(out / f"{name}_eval.json", result)
    return result
