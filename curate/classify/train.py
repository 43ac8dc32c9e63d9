"""Train a classifier from a recipe: sample, dedup, balance, split, fit, measure, save with its card.

Every random choice derives from the recipe's seed (text-hash keys for sampling, a seeded
permutation for the split, fastText's own seed with one thread), so the same recipe and data give a
byte-identical model file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from curate.classify.base import Classifier, sidecar_path
from curate.classify.card import render_markdown
from curate.classify.samples import ClassSample, read_class
from curate.adapt.thresholds import best_f1_threshold, precision_threshold
from curate.classify.evaluate import fpr_threshold, metrics
from curate.classify.fasttext_backend import FastTextClassifier
from curate.classify.recipe import Recipe, load_recipe
from curate.classify.sklearn_backend import SklearnClassifier
from curate.errors import ConfigError
from curate.io.atomic import read_json, write_text


@dataclass
class TrainResult:
    model_path: Path
    meta: dict[str, Any]  # the sidecar, card included


def make_classifier(recipe: Recipe) -> Classifier:
    norm = recipe.normalize.build()
    if recipe.backend == "fasttext":
        return FastTextClassifier(recipe.fasttext, norm, recipe.seed)
    return SklearnClassifier(recipe.sklearn, norm, recipe.seed)


def train_recipe(recipe_path: str | Path, out: str | Path | None = None, progress: Callable[[str], None] | None = None) -> TrainResult:
    """`curate classifier train RECIPE.yaml`: the model goes to `out` (a stem) or the recipe's output.
    `progress` (if given) receives a line per step (the CLI prints them on stderr)."""
    recipe, root = load_recipe(recipe_path)
    return train(recipe, root, out=out, recipe_label=str(recipe_path), progress=progress)


def split_heldout(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) index arrays, each sorted; at least one document on each side."""
    perm = rng.permutation(n)
    k = min(max(1, int(round(n * fraction))), n - 1)
    return np.sort(perm[k:]), np.sort(perm[:k])


def train(recipe: Recipe, root: Path, out: str | Path | None = None, recipe_label: str = "recipe",
          progress: Callable[[str], None] | None = None) -> TrainResult:
    t0 = time.perf_counter()
    say = progress or (lambda msg: None)
    clf = make_classifier(recipe)
    say(f"reading positives ({len(recipe.positives)} input(s))")
    pos = read_class(recipe.positives, root, recipe.text_field, recipe.max_per_class, recipe.seed, clf.normalizer, progress)
    say(f"reading negatives ({len(recipe.negatives)} input(s))")
    neg = read_class(recipe.negatives, root, recipe.text_field, recipe.max_per_class, recipe.seed, clf.normalizer, progress)
    kept_pos, kept_neg = pos.counts(), neg.counts()

    conflicts = np.intersect1d(pos.keys, neg.keys)
    if len(conflicts):
        pos = pos.subset(np.flatnonzero(~np.isin(pos.keys, conflicts)))
        neg = neg.subset(np.flatnonzero(~np.isin(neg.keys, conflicts)))
    for label, sample in (("positives", pos), ("negatives", neg)):
        if len(sample) < 2:
            raise ConfigError(f"only {len(sample)} distinct {label} after dedup", where=recipe_label, fix=f"add more {label} (need at least 2, and hundreds for a useful model)")
    if recipe.balance:
        # samples are sorted by seeded hash key, so a prefix is a uniform random subset
        n = min(len(pos), len(neg))
        pos, neg = pos.subset(np.arange(n)), neg.subset(np.arange(n))

    rng = np.random.default_rng(recipe.seed)
    pos_tr, pos_ho = split_heldout(len(pos), recipe.heldout_fraction, rng)
    neg_tr, neg_ho = split_heldout(len(neg), recipe.heldout_fraction, rng)
    train_texts = pa.concat_arrays([pos.texts.take(pa.array(pos_tr)), neg.texts.take(pa.array(neg_tr))])
    labels = np.r_[np.ones(len(pos_tr), bool), np.zeros(len(neg_tr), bool)]
    say(f"training {recipe.backend} on {len(labels):,} documents ({len(pos_tr):,} positive, {len(neg_tr):,} negative)")
    clf.fit(train_texts, labels)
    say(f"scoring {len(pos_ho) + len(neg_ho):,} held-out documents")

    s_pos = clf.predict_proba(pos.texts.take(pa.array(pos_ho)))
    s_neg = clf.predict_proba(neg.texts.take(pa.array(neg_ho)))
    y = np.r_[np.ones(len(s_pos), bool), np.zeros(len(s_neg), bool)]
    rec, criterion = recommended_threshold(recipe, y, np.r_[s_pos, s_neg], s_neg)
    held = metrics(y, np.r_[s_pos, s_neg], recipe.thresholds, {"recommended": rec})
    train_seconds = time.perf_counter() - t0

    stem = (Path(out) if out is not None else root / (recipe.output or recipe.name)).resolve()
    card = {
        "name": recipe.name,
        "recipe": recipe_label,
        "threshold_rule": recipe.threshold_rule,
        "threshold_criterion": criterion,
        "threshold_fpr": recipe.threshold_fpr,
        "train_seconds": round(train_seconds, 3),
        "data": {
            "positive": _class_card(pos, pos_tr, pos_ho, kept_pos, recipe.positives),
            "negative": _class_card(neg, neg_tr, neg_ho, kept_neg, recipe.negatives),
            "conflicts": int(len(conflicts)),
            "balanced": recipe.balance,
            "heldout_fraction": recipe.heldout_fraction,
            "max_per_class": recipe.max_per_class,
        },
        "heldout": held,
    }
    model_path = clf.save(stem, extra={"recommended_threshold": rec, "card": card})
    meta = read_json(sidecar_path(model_path))
    write_text(model_path.with_suffix(".md"), render_markdown(meta))
    return TrainResult(model_path, meta)


def recommended_threshold(recipe: Recipe, y: np.ndarray, s: np.ndarray, s_neg: np.ndarray) -> tuple[float, str]:
    """The recipe's threshold rule applied to held-out scores: (threshold, the criterion in words)."""
    if recipe.threshold_rule == "fpr":
        return fpr_threshold(s_neg, recipe.threshold_fpr), f"{recipe.threshold_fpr:.0%} of held-out negatives score above it"
    if recipe.threshold_rule == "precision":
        t = precision_threshold(y, s, recipe.threshold_precision)
        return t.value, t.criterion
    t = best_f1_threshold(y, s, probability=True)
    return t.value, f"{t.criterion} [{t.lo:.4g}, {t.hi:.4g}]"


def _class_card(sample: ClassSample, tr: np.ndarray, ho: np.ndarray, kept: dict[str, int], inputs) -> dict[str, Any]:
    return {
        "inputs": [i.model_dump(exclude_none=True) for i in inputs],
        "read": dict(sorted(sample.seen.items())),
        "files_sha256": dict(sorted(sample.files.items())),
        "kept": kept,
        "train": sample.subset(tr).counts(),
        "heldout": sample.subset(ho).counts(),
    }
