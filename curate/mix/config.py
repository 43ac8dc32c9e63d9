"""The pipeline's `mix:` section (light: importing it loads no engine)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from curate.plan.compute import parse_count


def _parse_count(v: str, what: str) -> float:
    n = parse_count(v)
    if n is None:
        raise ValueError(f"use {what}")
    return n


class MixConfig(BaseModel):
    """The pipeline's `mix:` section."""

    model_config = ConfigDict(extra="forbid")

    by: Literal["role", "source"] = "role"  # what `target` is keyed by
    target: dict[str, float] = Field(default_factory=lambda: {"domain": 0.51, "general": 0.49})  # token shares, sum 1
    total_tokens: int | Literal["all"] = "all"  # a number ("2B", "500M" accepted) or the largest total the cap allows
    max_epochs: float = Field(default=4.0, gt=0)  # most passes over any source (data-constrained scaling: <= 4)
    on_shortfall: Literal["error", "warn"] = "error"  # a target that cannot be met: stop, or shrink the total and warn
    shard_tokens: int = Field(default=50_000_000, gt=0)  # tokens per mixed train shard (cut at document ends)
    tolerance: float = Field(default=0.005, ge=0, le=1)  # allowed |achieved - target| share (0.005 = 0.5 pp)
    # size the mixture for a model: total_tokens = the compute-optimal tokens of `plan_params` under
    # `plan_rule` (as `curate plan --params N --rule R` prints them)
    plan_params: float | None = Field(default=None, gt=0)
    plan_rule: Literal["epoch", "20x", "chinchilla"] = "20x"

    @field_validator("plan_params", mode="before")
    @classmethod
    def _parse_params(cls, v):
        return _parse_count(v, "a parameter count (e.g. 125000000, 125M, 1.3B)") if isinstance(v, str) else v

    @field_validator("total_tokens", mode="before")
    @classmethod
    def _parse_total(cls, v):
        if isinstance(v, str) and v != "all":
            return int(round(_parse_count(v, "a token count (e.g. 2000000, 2M, 1.5B) or `all`")))
        return v

    @field_validator("target")
    @classmethod
    def _check_target(cls, v: dict[str, float]):
        if not v:
            raise ValueError("give at least one share, e.g. {domain: 0.51, general: 0.49}")
        bad = {k: s for k, s in v.items() if not (s >= 0 and math.isfinite(s))}
        if bad:
            raise ValueError(f"shares must be >= 0: {bad}")
        total = sum(v.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1 (they sum to {total:g})")
        return v

    @model_validator(mode="after")
    def _check_total(self):
        if isinstance(self.total_tokens, int) and self.total_tokens <= 0:
            raise ValueError("total_tokens must be positive (or `all`)")
        if self.plan_params is not None:
            from curate.plan import RULES

            planned = int(round(RULES[self.plan_rule].tokens_for_params(self.plan_params)))
            if isinstance(self.total_tokens, int) and self.total_tokens != planned:
                raise ValueError(f"give either total_tokens or plan_params, not both (plan_params gives {planned:,} tokens)")
            self.total_tokens = planned
        return self
