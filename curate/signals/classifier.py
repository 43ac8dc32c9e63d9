"""Classifier scores as annotate columns: `<name>_score` = P(positive) per document, in batches.

The model is loaded (and its sha256 verified) once per worker process; each batch is normalized
with Arrow kernels and scored by the backend's native predict. Scores are float64 so that top-k%
selection can still rank documents the model is very sure about.

Two kinds of model file:
* a curate classifier (`curate classifier train`): model + `<stem>.json` sidecar holding its
  labels, normalization and sha256;
* a published (third-party) fastText model, recognized by `positive_label:`: no sidecar, so the
  config pins its `sha256:` and gives its `normalize:` settings (see curate.classify.published).
"""

from __future__ import annotations

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from curate import schema
from curate.classify.base import PublishedNormalize
from curate.signals.base import Signal, SignalContext, register_signal


class ClassifierSignalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="column becomes <name>_score")
    model: str = Field(description="model file (.ftz/.bin/.npz) with its <stem>.json sidecar, or a published fastText file; relative to the pipeline YAML")
    prefix_chars: int | None = Field(None, ge=1, description="score the first N characters; default: what the model was trained with")
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$", description="pin the model file's sha256 (required for a published model)")
    positive_label: str | None = Field(None, description="published fastText model: the label scored as positive (`hq` or `__label__hq`)")
    normalize: PublishedNormalize | None = Field(None, description="published model: how its authors prepared text")

    @model_validator(mode="after")
    def _published(self):
        if self.positive_label is None:
            if self.normalize is not None:
                raise ValueError("`normalize` is for a published model (with `positive_label`); a curate classifier's normalization is in its sidecar")
            return self
        if self.sha256 is None:
            raise ValueError("a published model (`positive_label` given) needs `sha256:` to pin the file (sha256sum MODEL)")
        if self.prefix_chars is not None:
            raise ValueError("for a published model give the prefix as `normalize: {prefix_chars: N}`")
        return self


@register_signal("classifiers", config=ClassifierSignalConfig, many=True)
class ClassifierSignal(Signal):
    def __init__(self, cfg: ClassifierSignalConfig, ctx: SignalContext):
        self.cfg = cfg
        self.column = f"{cfg.name}_score"
        path = ctx.resolve(cfg.model)
        if cfg.positive_label is not None:
            from curate.classify.published import load_published

            self.model = load_published(path, cfg.sha256, cfg.positive_label, cfg.normalize)
            return
        from curate.classify.base import load_classifier
        from curate.errors import CurateError
        from curate.io.atomic import sha256_file

        self.model = load_classifier(path)  # checks existence, sidecar and the sidecar's hash
        if cfg.sha256 is not None and (actual := sha256_file(path)) != cfg.sha256.lower():
            raise CurateError(f"sha256 mismatch: expected {cfg.sha256.lower()}, actual {actual}", where=str(path),
                              fix="restore the pinned model, or update `sha256:` if you retrained it on purpose")
        if cfg.prefix_chars is not None:
            self.model.set_prefix_chars(cfg.prefix_chars)

    def columns(self, table: pa.Table) -> dict[str, pa.Array]:
        scores = self.model.predict_proba(table.column(schema.TEXT))
        return {self.column: pa.array(scores, type=pa.float64())}
