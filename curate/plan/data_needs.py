"""Data planning: tokens per source at a mixture, the epochs each source would need, what repeated
tokens are worth, and the largest model a corpus supports.

Why: a domain corpus is only useful if it holds enough curated tokens for the model it is meant to
train, and repeating a small source too often wastes compute. Repeated data follows Muennighoff et
al. 2023 (arXiv 2305.16264): R_D* = 15.39, and up to ~4 epochs are worth about as much as unique data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from curate.errors import CurateError
from curate.plan.compute import human_count, training_flops
from curate.plan.manifest import ManifestSource
from curate.plan.rules import Rule

MUENNIGHOFF_RD_STAR = 15.387756  # R_D*: repetitions after which repeated data's value has decayed
DEFAULT_MIXTURE = {"domain": 0.51, "general": 0.49}  # BloombergGPT: FinPile 51.27% / public 48.73%
DEFAULT_MAX_EPOCHS = 4.0  # Muennighoff et al. 2023: up to ~4 epochs ≈ unique data


def effective_tokens(unique: float, epochs: float) -> float:
    """Unique-equivalent tokens from ``epochs`` passes over ``unique`` tokens (Muennighoff et al. 2023):
    D' = U·(1 + R*·(1 − e^(−R/R*))), R = epochs − 1 repetitions. At most one epoch: no discount."""
    if epochs <= 1:
        return unique * epochs
    r = epochs - 1
    return unique * (1 + MUENNIGHOFF_RD_STAR * (1 - math.exp(-r / MUENNIGHOFF_RD_STAR)))

def normalize_mixture(mix: dict[str, float], where: str) -> dict[str, float]:
    """Shares must be non-negative and sum to 1 (within 1e-3; then renormalised exactly)."""
    if not mix:
        raise CurateError("empty mixture", where=where, fix="give shares like domain=0.51,general=0.49")
    if any(v < 0 for v in mix.values()):
        raise CurateError("negative mixture share", where=where, fix="shares are fractions in [0, 1]")
    total = sum(mix.values())
    if abs(total - 1) > 1e-3:
        raise CurateError(f"shares sum to {total:g}, not 1", where=where,
                          fix="give fractions that add up to 1, e.g. domain=0.51,general=0.49")
    return {k: v / total for k, v in mix.items()}


@dataclass(frozen=True)
class SourceNeed:
    name: str
    role: str | None
    share: float  # of all training tokens
    tokens_needed: float
    available_tokens: int | None
    epochs: float | None
    effective_tokens: float | None  # unique-equivalent (Muennighoff) of tokens_needed
    over_cap: bool


@dataclass(frozen=True)
class SupportedModel:
    """The largest compute-optimal model (chosen rule) whose data need fits ``max_epochs`` per source."""

    max_epochs: float
    tokens: float
    params: float
    compute: float
    limiting_source: str


@dataclass(frozen=True)
class DataPlan:
    tokens: float
    mixture: dict[str, float]
    mixture_by: str  # "role" | "source"
    sources: list[SourceNeed]
    supported: list[SupportedModel]
    warnings: list[str] = field(default_factory=list)


def source_shares(sources: list[ManifestSource], mixture: dict[str, float],
                  where: str = "mixture") -> tuple[str, dict[str, float]]:
    """Each source's share of training tokens. Keys naming sources split directly; keys naming roles
    split within a role in proportion to what the run mixed from each source (else available tokens)."""
    names = {s.name for s in sources}
    roles = {s.role for s in sources}
    if set(mixture) <= names:
        return "source", {s.name: mixture.get(s.name, 0.0) for s in sources}
    if set(mixture) <= roles:
        shares = {}
        for role, share in mixture.items():
            members = [s for s in sources if s.role == role]
            weights = [s.run_tokens or 0 for s in members]
            if sum(weights) <= 0:
                weights = [s.available_tokens for s in members]
            total = sum(weights)
            for s, w in zip(members, weights):
                shares[s.name] = share * (w / total if total > 0 else 1 / len(members))
        return "role", {s.name: shares.get(s.name, 0.0) for s in sources}
    unknown = sorted(set(mixture) - names - roles)
    raise CurateError(
        f"mixture keys {unknown} are neither sources nor roles of the manifest", where=where,
        fix=f"use roles {sorted(roles)} or sources {sorted(names)}",
    )


def data_plan(tokens: float, rule: Rule, mixture: dict[str, float] | None = None,
              sources: list[ManifestSource] | None = None,
              max_epochs: float = DEFAULT_MAX_EPOCHS, mixture_where: str = "mixture") -> DataPlan:
    """Tokens per mixture key for a ``tokens``-token run; with a manifest's sources, the epochs each
    source would need, their repeated-data value, and the largest model the corpus supports."""
    mixture = normalize_mixture(dict(mixture or DEFAULT_MIXTURE), mixture_where)
    if not sources:
        rows = [SourceNeed(k, None, v, tokens * v, None, None, None, False) for k, v in mixture.items()]
        return DataPlan(tokens, mixture, "role", rows, [])
    by, shares = source_shares(sources, mixture, mixture_where)
    supported = []
    for cap in sorted({1.0, max_epochs}):
        limits = [(s.available_tokens * cap / shares[s.name], s.name) for s in sources if shares[s.name] > 0]
        d_max, limiting = min(limits)
        n_max = rule.params_for_tokens(d_max) if d_max > 0 else 0.0  # an empty source supports nothing
        supported.append(SupportedModel(cap, d_max, n_max, training_flops(n_max, d_max), limiting))
    rows, warnings = [], []
    for s in sources:
        need = tokens * shares[s.name]
        epochs = need / s.available_tokens if s.available_tokens else (math.inf if need > 0 else 0.0)
        eff = effective_tokens(s.available_tokens, epochs) if math.isfinite(epochs) else 0.0
        over = epochs > max_epochs
        rows.append(SourceNeed(s.name, s.role, shares[s.name], need, s.available_tokens, epochs, eff, over))
        if over:
            worth = f"{eff / need:.0%}" if need else "0%"
            warnings.append(
                f"source {s.name!r} would need {epochs:.1f} epochs (> {max_epochs:g}) of its "
                f"{human_count(s.available_tokens)} tokens: beyond ~4 epochs repeated tokens lose value "
                f"(Muennighoff et al. 2023, R_D* = 15.4), so its {human_count(need)} tokens are worth "
                f"{human_count(eff)} unique ones ({worth}). Curate more {s.role} data, lower its share, "
                f"or plan at most {human_count(supported[-1].params)} parameters ({rule.name}), the largest "
                f"this corpus supports at <= {max_epochs:g} epochs per source."
            )
    return DataPlan(tokens, mixture, by, rows, supported, warnings)
