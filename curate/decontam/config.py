"""The pipeline's `decontam:` section (the engine is curate.decontam.engine, the stage curate.decontam.stage)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class EvalSetConfig(BaseModel):
    """One evaluation set: JSONL (.gz/.zst) or Parquet files of items; the listed fields are joined per item."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    paths: list[str] = Field(min_length=1, description="files or globs, relative to the working directory like sources")
    fields: list[str] = Field(default_factory=lambda: ["text"], min_length=1, description="fields joined (by a space) into one item text, e.g. [question, answer]")
    id_field: str | None = Field(None, description="item id field (default: the item's position in the set)")


class DecontamConfig(BaseModel):
    """The pipeline's `decontam:` section (stage `decontam`, after dedup, before select)."""

    model_config = ConfigDict(extra="forbid")

    eval_sets: list[EvalSetConfig] = Field(default_factory=list)
    heldout: bool = Field(False, description="also match training documents against the run's own held-out documents (the tokenize split)")
    n: int = Field(13, ge=1, le=64, description="words per n-gram (GPT-3: 13)")
    min_words: int = Field(8, ge=1, description="items shorter than n words match as one gram if they have at least this many words")
    min_matches: int = Field(1, ge=1, description="n-gram matches a document needs to count as contaminated")
    action: Literal["drop", "flag"] = Field("drop", description="drop contaminated documents at select (reason `contaminated`) or only list them")
    report_docs_per_item: int = Field(20, ge=0, description="documents listed per hit item in decontam.json (all are counted)")

    @model_validator(mode="after")
    def _something_to_match(self):
        if not self.eval_sets and not self.heldout:
            raise ValueError("give `eval_sets` (files of evaluation items) and/or `heldout: true`")
        return self
