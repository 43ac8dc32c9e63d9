"""The pipeline's `dedup:` section (light: importing it loads no engine)."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DedupConfig(BaseModel):
    """`dedup:` section. Keep policy, in order: a role listed earlier in `prefer_roles` wins, then the
    longer text (characters), then the smaller id, then the smaller source name."""

    model_config = ConfigDict(extra="forbid")

    exact: bool = Field(default=True, description="drop documents whose normalized text is identical")
    near: bool = Field(default=True, description="drop near duplicates found by MinHash LSH")
    threshold: float = Field(default=0.8, gt=0, le=1, description="Jaccard similarity from which documents are near duplicates")
    verify_z: float = Field(default=1.645, ge=0, le=5, description=(
        "a candidate pair is accepted when its estimated Jaccard >= threshold - verify_z * standard error; "
        "1.645 catches ~95% of pairs exactly at the threshold, 0 accepts only estimates >= threshold"))
    bands: int | None = Field(default=None, ge=1, le=254, description="LSH bands; default: chosen from threshold and num_perm")
    rows: int | None = Field(default=None, ge=1, description="signature values per band; bands*rows <= num_perm")
    prefer_roles: list[str] = Field(default_factory=lambda: ["domain"], description="roles kept first, in order")
    max_memory_mb: int = Field(default=1024, ge=16, description="memory budget of one partition in pass 2")
    num_partitions: int | None = Field(default=None, ge=1, le=9999, description="overrides max_memory_mb")
    keep_intermediate: bool = Field(default=False, description="keep buckets/, sigs/, edges/ after the stage")

    @model_validator(mode="after")
    def _check(self):
        if not (self.exact or self.near):
            raise ValueError("dedup needs `exact` or `near` (or both) to be true")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both `bands` and `rows`, or neither (then they are chosen from threshold and num_perm)")
        return self

    def accept_threshold(self, num_perm: int) -> float:
        """Lowest estimated Jaccard accepted: the estimate (share of equal signature values) has
        standard error sqrt(J(1-J)/num_perm), so demanding >= threshold would miss half the pairs
        that sit exactly at it."""
        return max(0.0, self.threshold - self.verify_z * math.sqrt(self.threshold * (1 - self.threshold) / num_perm))

    def banding(self, num_perm: int) -> tuple[int, int]:
        """(bands, rows): as configured, else the most rows per band (fewest false candidates) that
        still make a pair at the accept threshold a candidate with probability >= 0.99."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        t = self.accept_threshold(num_perm)
        for r in range(num_perm, 0, -1):
            b = min(num_perm // r, 254)
            if candidate_probability(t, b, r) >= 0.99:
                return b, r
        return min(num_perm, 254), 1


def candidate_probability(j: float, bands: int, rows: int) -> float:
    """P(a pair with Jaccard j shares at least one band) = 1 - (1 - j^rows)^bands."""
    return 1 - (1 - j**rows) ** bands
