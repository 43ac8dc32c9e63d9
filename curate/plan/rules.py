"""Rules: how a compute budget C splits between parameters N and training tokens D.

Why: "how many tokens does this model need" has no single answer. The planner shows three readings
side by side and lets the user pick one (default: the Epoch AI refit):
- 20x: D = 20·N, Hoffmann et al. 2022 (Chinchilla) Table 3, approach 1.
- chinchilla: loss law L(N, D) = E + A/N^α + B/D^β with Hoffmann et al. 2022 eq. 10 (approach 3,
  published constants), kept as a legacy reading.
- epoch: the same law refitted by Besiroglu et al. 2024 (Epoch AI, arXiv 2404.10102).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from curate.plan.compute import FLOPS_PER_PARAM_TOKEN


class Rule(Protocol):
    name: str
    citation: str

    def optimal(self, compute: float) -> tuple[float, float]: ...
    def tokens_for_params(self, params: float) -> float: ...
    def params_for_tokens(self, tokens: float) -> float: ...


@dataclass(frozen=True)
class TokensPerParamRule:
    """D = ratio·N: Chinchilla's rule of thumb (Table 3, approach 1: ~20 tokens per parameter)."""

    name: str
    ratio: float
    citation: str

    def optimal(self, compute: float) -> tuple[float, float]:
        params = math.sqrt(compute / (FLOPS_PER_PARAM_TOKEN * self.ratio))
        return params, self.ratio * params

    def tokens_for_params(self, params: float) -> float:
        return self.ratio * params

    def params_for_tokens(self, tokens: float) -> float:
        return tokens / self.ratio


@dataclass(frozen=True)
class LossLaw:
    """L(N, D) = E + A/N^alpha + B/D^beta, and its compute-optimal frontier under C = 6·N·D.

    Minimising L at fixed C gives N_opt = G·(C/6)^a and D_opt = (C/6)^b / G with
    G = (alpha·A / (beta·B))^(1/(alpha+beta)), a = beta/(alpha+beta), b = alpha/(alpha+beta)
    (Hoffmann et al. 2022 eq. 4 and App. D.2).
    """

    name: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    citation: str

    @property
    def G(self) -> float:
        return (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))

    @property
    def a(self) -> float:
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def loss(self, params: float, tokens: float) -> float:
        return self.E + self.A / params**self.alpha + self.B / tokens**self.beta

    def optimal(self, compute: float) -> tuple[float, float]:
        x = compute / FLOPS_PER_PARAM_TOKEN
        return self.G * x**self.a, x**self.b / self.G

    def tokens_for_params(self, params: float) -> float:
        """Tokens at the budget for which ``params`` is the compute-optimal size."""
        x = (params / self.G) ** (1.0 / self.a)  # = C/6 = N·D
        return x / params

    def params_for_tokens(self, tokens: float) -> float:
        """Parameters at the budget for which ``tokens`` is the compute-optimal data size."""
        x = (tokens * self.G) ** (1.0 / self.b)
        return x / tokens


TWENTY_X = TokensPerParamRule(
    "20x", 20.0, "Hoffmann et al. 2022 (Chinchilla) Table 3: ~20 tokens per parameter"
)
CHINCHILLA = LossLaw(
    "chinchilla", E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28,
    citation="Hoffmann et al. 2022 eq. 10, approach 3 published constants (legacy: see notes)",
)
EPOCH = LossLaw(
    "epoch", E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658,
    citation="Besiroglu et al. 2024 (Epoch AI), 'Chinchilla Scaling: A replication attempt'",
)
RULES: dict[str, Rule] = {r.name: r for r in (EPOCH, TWENTY_X, CHINCHILLA)}
DEFAULT_RULE = "epoch"  # default to the Epoch refit (or 20x), not the published approach-3 constants (see docs/plan.md)
