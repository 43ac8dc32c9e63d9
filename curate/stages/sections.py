"""Config sections of the annotate and select stages.

`annotate:` has one key per registered signal (see curate.signals.base), so its model is built
from the signal registry (and rebuilt when a signal is registered later).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from curate.pii.config import PiiSelectConfig
from curate.signals.base import SIGNALS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnnotateBase(_Strict):
    """`annotate:` settings of the stage itself; the signal keys are added from the registry."""

    batch_size: int = Field(default=2048, gt=0)
    # JSONL/Parquet files larger than this on disk are annotated by several tasks (ceil(size / split_mb)),
    # each taking every n-th block of `batch_size` records, so one big file does not serialize the stage
    split_mb: float = Field(default=2.0, ge=0)
    # opt-in: apply the select rules inside annotate, in order, and compute each signal only for the
    # documents no earlier rule dropped (the others get null; `cascade_stop` names the rule). Same
    # selection, tokens and shards as full annotation; much less work when cheap rules drop a lot.
    cascade: bool = False

    @model_validator(mode="after")
    def _unique_signal_names(self):
        for entry in SIGNALS.entries():
            if not entry.many:
                continue
            names = [x.name for x in getattr(self, entry.name)]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"`{entry.name}` names must be unique (they name the output columns); repeated: {dup}")
        return self

    def signal_items(self) -> list[tuple[Any, BaseModel]]:
        """(registry entry, config) of every enabled signal instance, in the order they run."""
        out = []
        for entry in SIGNALS.entries():
            section = getattr(self, entry.name, None)
            if not section or getattr(section, "enabled", True) is False:
                continue
            out.extend((entry, item) for item in (section if isinstance(section, list) else [section]))
        return out


_MODELS: dict[int, type[AnnotateBase]] = {}


def annotate_model() -> type[AnnotateBase]:
    """The `annotate:` model for the signals registered now."""
    version = SIGNALS.state()
    if version not in _MODELS:
        fields: dict[str, Any] = {}
        for e in SIGNALS.entries():
            model = e.config
            if e.many:
                fields[e.name] = (list[model], Field(default_factory=list))
            elif e.default:
                fields[e.name] = (model | None, Field(default_factory=model))
            else:
                fields[e.name] = (model | None, None)
        _MODELS.clear()
        _MODELS[version] = create_model("AnnotateConfig", __base__=AnnotateBase, __module__=__name__, **fields)
    return _MODELS[version]


def __getattr__(name: str):
    if name == "AnnotateConfig":  # the model for the signals registered now
        return annotate_model()
    raise AttributeError(name)


class RuleConfig(_Strict):
    """One selection rule. A document is dropped by the first rule it fails; the rule's name is the reason.

    mode `expr`: `keep` (or `drop`) is an expression over columns, e.g. "lang == 'en' and lang_score >= 0.65".
    mode `threshold`: keep if `column >= threshold`.
    mode `top_fraction`: keep the top `fraction` of each source (or the whole run) by `column`.
    mode `pareto`: GPT-3 style, keep if pareto(alpha) > 1 - column (seeded per document).
    """

    name: str
    mode: Literal["expr", "threshold", "top_fraction", "pareto"] = "expr"
    keep: str | None = None
    drop: str | None = None
    column: str | None = None
    threshold: float | None = None
    fraction: float | None = Field(default=None, gt=0, le=1)
    per_source: bool = True
    alpha: float = Field(default=9.0, gt=0)
    sources: list[str] | None = None  # apply only to these sources (default: all)
    roles: list[str] | None = None  # apply only to these roles (default: all)

    @model_validator(mode="after")
    def _check_mode(self):
        if self.mode == "expr":
            if (self.keep is None) == (self.drop is None):
                raise ValueError("an expr rule needs exactly one of `keep` or `drop`")
        else:
            if not self.column:
                raise ValueError(f"a {self.mode} rule needs `column`")
            if self.mode == "threshold" and self.threshold is None:
                raise ValueError("a threshold rule needs `threshold`")
            if self.mode == "top_fraction" and self.fraction is None:
                raise ValueError("a top_fraction rule needs `fraction` (0 < f <= 1)")
        return self


class SelectConfig(_Strict):
    rules: list[RuleConfig] = Field(default_factory=list)
    drop_duplicates: bool = True  # apply dedup/drops.parquet when the dedup stage ran
    pii: PiiSelectConfig | None = None  # redact PII in the text written to selected/ (or drop documents holding it)
