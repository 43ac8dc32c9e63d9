"""Third-party fastText classifiers (e.g. a DCLM-style `.bin` with labels `__label__hq`/`__label__cc`)
as a curate classifier: pinned by sha256, scored as P(chosen label), normalized as the user says.

A published model has no curate sidecar, so everything a sidecar would hold comes from the pipeline
YAML instead: the file's sha256 (checked before fastText reads a byte of it; a mismatch names the
file and both hashes), the positive label, and the normalization its authors trained with (case,
whitespace, punctuation, prefix length). Scoring reuses the fastText backend: Arrow normalizes the
batch and the native per-line predict does the rest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curate.classify.base import NormalizeConfig, PublishedNormalize, TextsLike
from curate.classify.fasttext_backend import FASTTEXT_MAGIC, _EPS, FastTextClassifier, FastTextParams, _sep, fasttext_module
from curate.errors import CurateError
from curate.io.atomic import sha256_file

LABEL_PREFIX = "__label__"


class PublishedFastText(FastTextClassifier):
    """A loaded third-party fastText model scoring P(`positive_label`)."""

    kind = "fasttext-published"

    def __init__(self, positive: str, normalize: NormalizeConfig):
        super().__init__(FastTextParams(quantize=False), normalize)
        self.positive = positive

    def fit(self, texts, labels):  # pragma: no cover - a published model is only scored
        raise CurateError("a published classifier is scored, not trained", fix="train your own with `curate classifier train`")

    def predict_proba(self, texts: TextsLike) -> np.ndarray:
        x = self._lines(texts)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        import pyarrow.compute as pc

        lines = pc.binary_join_element_wise(x, _sep("\n"), _sep("")).to_pylist()
        predict = self._model.f.predict
        pos = self.positive
        if self._binary:
            # two labels: take P(positive) from the less likely label, whose log keeps resolution near 0 and 1
            out = np.empty(len(lines), dtype=np.float64)
            for i, s in enumerate(lines):
                (_, top), (p2, _) = predict(s, 2, 0.0, "strict")
                out[i] = 1.0 + _EPS - p2 if top == pos else p2 - _EPS
        else:
            out = np.fromiter((next((p for p, lab in predict(s, -1, 0.0, "strict") if lab == pos), _EPS) - _EPS for s in lines),
                              dtype=np.float64, count=len(lines))
        return np.clip(out, 0.0, 1.0)


def load_published(path: str | Path, sha256: str, positive_label: str, normalize: PublishedNormalize | None = None) -> PublishedFastText:
    """Verify the pinned sha256 and the label, then load; every failure names the file and the fix."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise CurateError("published classifier file not found", where=where, fix="download it once (nothing is fetched at run time) and fix `model:`")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != FASTTEXT_MAGIC:
        raise CurateError("not a fastText model file (wrong magic bytes)", where=where, fix="give the model's .bin or .ftz file")
    actual = sha256_file(path)
    if actual != sha256.lower():
        raise CurateError(f"sha256 mismatch: expected {sha256.lower()}, actual {actual}", where=where,
                          fix="the file is not the one the config pins: restore it, or update `sha256:` if you changed the model on purpose")
    fasttext = fasttext_module()
    clf = PublishedFastText(positive_label if positive_label.startswith(LABEL_PREFIX) else LABEL_PREFIX + positive_label,
                            (normalize or PublishedNormalize()).build())
    try:
        clf._model = fasttext.FastText._FastText(model_path=str(path))
    except (ValueError, RuntimeError) as exc:
        raise CurateError(f"fastText cannot load the model: {exc}", where=where, fix="check the file is a supervised fastText model") from None
    labels = list(clf._model.get_labels())
    if clf.positive not in labels:
        raise CurateError(f"positive label {positive_label!r} is not among the model's labels {[lab[len(LABEL_PREFIX):] for lab in labels]}",
                          where=where, fix="set `positive_label:` to one of them")
    clf._binary = len(labels) == 2
    return clf
