"""The whole plan: ``make_plan`` validates the request and combines allocation, evaluation, memory and
data planning into one ``Plan``, with the notes and warnings a user should read.

Why a separate module: it is the only place that knows how the parts fit together (which budget the
allocations use, which tokens the data plan sizes, when to warn); the parts stay independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from curate.errors import CurateError
from curate.plan.allocate import (
    LOSS_CAVEAT, Allocation, Evaluation, allocate_for_compute, allocate_for_params, evaluate,
    explain_disagreement,
)
from curate.plan.compute import GB, GPUS, training_flops
from curate.plan.data_needs import DEFAULT_MAX_EPOCHS, DataPlan, data_plan
from curate.plan.manifest import read_manifest
from curate.plan.memory import MemoryPlan, ModelShape, memory_plan
from curate.plan.rules import DEFAULT_RULE, RULES


@dataclass(frozen=True)
class Plan:
    basis: str  # what the user gave: "params", "params+tokens", "compute"
    rule: str
    gpu: str
    mfu: float
    compute: float  # the budget the allocations use
    allocations: list[Allocation]
    chosen: Allocation
    evaluation: Evaluation | None
    memory: MemoryPlan
    data: DataPlan
    notes: list[str]
    warnings: list[str]


def make_plan(*, params: float | None = None, tokens: float | None = None, compute: float | None = None,
              rule: str = DEFAULT_RULE, gpu: str = "a100", mfu: float = 0.4,
              shape: ModelShape | None = None, seq_len: int = 2048, micro_batch: int = 1,
              recompute: str = "none", mixture: dict[str, float] | None = None,
              manifest: str | Path | None = None, max_epochs: float = DEFAULT_MAX_EPOCHS) -> Plan:
    """Plan from exactly one of: ``params`` (optionally with ``tokens``) or ``compute`` (FLOPs)."""
    if rule not in RULES:
        raise CurateError(f"unknown rule {rule!r}", fix=f"use one of {', '.join(RULES)}")
    if gpu not in GPUS:
        raise CurateError(f"unknown GPU {gpu!r}", fix=f"use one of {', '.join(GPUS)}")
    if not 0 < mfu <= 1:
        raise CurateError(f"MFU {mfu} is not in (0, 1]",
                          fix="give model FLOPs utilisation as a fraction, e.g. 0.4")
    if (params is None) == (compute is None):
        raise CurateError("give either a model size or a compute budget (not both, not neither)",
                          fix="use --params N [--tokens D], or --compute / --pf-days / --gpu-hours")
    if tokens is not None and params is None:
        raise CurateError("--tokens needs --params",
                          fix="evaluate a configuration with --params N --tokens D")
    for name, v in (("params", params), ("tokens", tokens), ("compute", compute)):
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise CurateError(f"{name} must be a positive number, got {v}")
    spec, chosen_rule = GPUS[gpu], RULES[rule]
    notes: list[str] = []
    evaluation = None
    if params is not None and tokens is not None:
        basis, budget = "params+tokens", training_flops(params, tokens)
        allocs = allocate_for_compute(budget, spec, mfu)
        evaluation = evaluate(params, tokens, chosen_rule, spec, mfu)
        model_params, plan_tokens = params, tokens
    else:
        basis = "params" if params is not None else "compute"
        allocs = (allocate_for_params(params, spec, mfu) if params is not None
                  else allocate_for_compute(float(compute), spec, mfu))
        mine = next(a for a in allocs if a.rule == rule)
        budget, model_params, plan_tokens = mine.compute, mine.params, mine.tokens
    chosen = next(a for a in allocs if a.rule == rule)
    notes += explain_disagreement(allocs)
    notes.append(LOSS_CAVEAT)
    if shape is not None:
        approx = shape.params()
        if abs(approx / model_params - 1) > 0.25:
            notes.append(f"The given shape has ~{approx:.3g} non-embedding parameters (12·L·h²), not "
                         f"{model_params:.3g}: activations follow the shape, state follows --params.")
    memory = memory_plan(model_params, spec, shape, seq_len, micro_batch, recompute)
    sources, target = (read_manifest(manifest) if manifest else (None, None))
    where = "--mix" if mixture else f"{manifest}: mixture.target" if target else "default mixture"
    data = data_plan(plan_tokens, chosen_rule, mixture or target, sources, max_epochs, where)
    warnings = list(data.warnings)
    if evaluation and evaluation.below_20x:
        warnings.append(f"{evaluation.tokens_per_param:.1f} tokens/param is below Chinchilla's 20x: "
                        f"the model is {evaluation.verdict} for its compute.")
    modelled = [r for r in memory.train if r.gpus_recompute != "-"]
    if any(r.gpus is None for r in modelled):
        warnings.append(f"micro-batch {micro_batch} × {seq_len} tokens needs more activation memory than "
                        f"one {spec.name} has even with full recompute: lower --micro-batch or --seq-len, "
                        "or add tensor parallelism (not modelled here).")
    elif any(r.gpus_recompute != recompute for r in modelled):
        act_gb = memory.train[0].activation_bytes / GB
        notes.append(f"Activations at recompute '{recompute}' ({act_gb:,.1f} GB) "
                     f"leave no room on one {spec.name}: the GPU counts assume recompute "
                     f"'{modelled[0].gpus_recompute}' (Korthikanti et al. 2022).")
    return Plan(basis, rule, gpu, mfu, budget, allocs, chosen, evaluation, memory, data, notes, warnings)
