"""`adapt:` section: tasks that learn new per-document columns from the run's own annotated data."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from curate.adapt.selftrain import SelfTrainConfig


class AdaptTaskConfig(BaseModel):
    """One learned column set, `<name>_score` (final self-trained P(domain)) and `<name>_dsir`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="column prefix: <name>_score, <name>_dsir")
    sources: list[str] | None = Field(None, description="sources to learn on and score (default: all)")
    priors: dict[str, str] = Field(default_factory=dict, description="prior name -> annotated column (e.g. seed: finance_domain_score)")
    target: str | None = Field(None, description="DSIR target n-gram model (.npz), relative to the pipeline YAML")
    anchor: list[str] = Field(default_factory=list, description="JSONL/Parquet files of known domain documents kept as positives every round")
    max_docs: int = Field(500_000, ge=10, description="documents learned on (a seeded sample beyond this; all are scored)")
    selftrain: SelfTrainConfig = Field(default_factory=SelfTrainConfig)

    @model_validator(mode="after")
    def _has_a_prior(self):
        if not self.priors and not self.target:
            raise ValueError("an adapt task needs at least one prior column or a DSIR `target`")
        return self


class AdaptConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[AdaptTaskConfig] = Field(min_length=1)

    @field_validator("tasks")
    @classmethod
    def _unique(cls, v):
        names = [t.name for t in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"adapt task names must be unique; repeated: {dup}")
        return v
