"""Classifier scores as annotate columns: `<name>_score` = P(positive) per document, in batches.

The model is loaded (and its sha256 verified) once per worker process; each batch is normalized
with Arrow kernels and scored by the backend's native predict. Scores are float64 so that top-k%
selection can still rank documents the model is very sure about.
"""

from __future__ import annotations

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from curate import schema
from curate.signals.base import Signal, SignalContext, register_signal


class ClassifierSignalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="column becomes <name>_score")
    model: str = Field(description="model file (.ftz/.bin/.npz) with its <stem>.json sidecar; relative to the pipeline YAML")
    prefix_chars: int | None = Field(None, ge=1, description="score the first N characters; default: what the model was trained with")


@register_signal("classifiers", config=ClassifierSignalConfig, many=True)
class ClassifierSignal(Signal):
    def __init__(self, cfg: ClassifierSignalConfig, ctx: SignalContext):
        from curate.classify.base import load_classifier

        self.cfg = cfg
        self.column = f"{cfg.name}_score"
        self.model = load_classifier(ctx.resolve(cfg.model))
        if cfg.prefix_chars is not None:
            self.model.set_prefix_chars(cfg.prefix_chars)

    def columns(self, table: pa.Table) -> dict[str, pa.Array]:
        scores = self.model.predict_proba(table.column(schema.TEXT))
        return {self.column: pa.array(scores, type=pa.float64())}
