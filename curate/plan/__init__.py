"""Scaling-law planning: how big a model a budget buys, how many tokens it needs, and what it costs.

Why this exists: a domain corpus is only useful if it holds enough curated tokens for the model it is
meant to train. Compute-optimal training wants about 20 tokens per parameter (Chinchilla), memory per
parameter decides the hardware, and repeating a small source too often wastes compute. This package
turns a model size, a FLOP budget or a GPU-hour budget into those numbers, and checks them against
the tokens a curate run actually produced (its ``manifest.json``).

Pure library: dataclasses and functions, no printing. ``curate.plan.cli`` renders the results.
Every public name is re-exported here, so ``from curate.plan import X`` is the stable import path;
the modules only say where each part lives:

- ``compute``: unit constants, 6·N·D, PF-days, GPU-days, GPU specs, ``human_count``/``parse_count``.
- ``rules``: the 20x rule and the Chinchilla / Epoch AI loss laws (``RULES``).
- ``allocate``: each rule's optimal (N, D) for a budget, and evaluation of a given (N, D).
- ``memory``: bytes per parameter, activation memory, model shape, GPUs needed.
- ``manifest``: reading a run's manifest.json.
- ``data_needs``: tokens per source at a mixture, epochs, repeated-data value, largest supported model.
- ``planner``: ``make_plan``, which combines the above into one ``Plan``.

Sources of the numbers:
- C ≈ 6·N·D training FLOPs; 1 PF-day = 1e15 · 86,400 = 8.64e19 FLOPs (Kaplan et al. 2020;
  Hoffmann et al. 2022 App. F).
- 20 tokens/parameter: Hoffmann et al. 2022 (Chinchilla) Table 3, approach 1.
- Loss law L(N, D) = E + A/N^α + B/D^β: Hoffmann et al. 2022 eq. 10 (approach 3, published
  constants) and the Epoch AI refit (Besiroglu et al. 2024, arXiv 2404.10102).
- Repeated data: Muennighoff et al. 2023 (arXiv 2305.16264), R_D* = 15.39; up to ~4 epochs ≈ unique.
- Memory: ZeRO (Rajbhandari et al. 2020) mixed-precision Adam = 16 B/param; activations per layer
  s·b·h·(34 + 5·a·s/h) bytes without recomputation (Korthikanti et al. 2022, arXiv 2205.05198).
- Model shape from size: hidden = exp(5.039)·exp(0.0555·layers) (Levine et al. 2020, as used by
  BloombergGPT §3.2).
"""

from curate.plan.allocate import (
    LOSS_CAVEAT, Allocation, Evaluation, allocate_for_compute, allocate_for_params, allocation, evaluate,
    explain_disagreement,
)
from curate.plan.compute import (
    FLOPS_PER_PARAM_TOKEN, GB, GPUS, PF_DAY_FLOPS, GpuSpec, flops_from_gpu_hours, gpu_days, human_count, parse_count,
    pf_days, training_flops,
)
from curate.plan.data_needs import (
    DEFAULT_MAX_EPOCHS, DEFAULT_MIXTURE, MUENNIGHOFF_RD_STAR, DataPlan, SourceNeed, SupportedModel,
    data_plan, effective_tokens, normalize_mixture, source_shares,
)
from curate.plan.manifest import ManifestSource, read_manifest
from curate.plan.memory import (
    HOLD_BYTES_PER_PARAM, RECOMPUTE, TRAIN_RECIPES, HoldRow, MemoryPlan, ModelShape, TrainRecipe, TrainRow,
    activation_bytes, gpus_for_training, memory_plan, micro_batch_for_activations,
)
from curate.plan.planner import Plan, make_plan
from curate.plan.rules import (
    CHINCHILLA, DEFAULT_RULE, EPOCH, RULES, TWENTY_X, LossLaw, Rule, TokensPerParamRule,
)

__all__ = [
    # compute
    "FLOPS_PER_PARAM_TOKEN", "GB", "GPUS", "PF_DAY_FLOPS", "GpuSpec", "flops_from_gpu_hours", "gpu_days",
    "human_count", "parse_count", "pf_days", "training_flops",
    # rules
    "CHINCHILLA", "DEFAULT_RULE", "EPOCH", "RULES", "TWENTY_X", "LossLaw", "Rule", "TokensPerParamRule",
    # allocate
    "LOSS_CAVEAT", "Allocation", "Evaluation", "allocate_for_compute", "allocate_for_params", "allocation",
    "evaluate", "explain_disagreement",
    # memory
    "HOLD_BYTES_PER_PARAM", "RECOMPUTE", "TRAIN_RECIPES", "HoldRow", "MemoryPlan", "ModelShape",
    "TrainRecipe", "TrainRow", "activation_bytes", "gpus_for_training", "memory_plan",
    "micro_batch_for_activations",
    # manifest
    "ManifestSource", "read_manifest",
    # data
    "DEFAULT_MAX_EPOCHS", "DEFAULT_MIXTURE", "MUENNIGHOFF_RD_STAR", "DataPlan", "SourceNeed",
    "SupportedModel", "data_plan", "effective_tokens", "normalize_mixture", "source_shares",
    # planner
    "Plan", "make_plan",
]
