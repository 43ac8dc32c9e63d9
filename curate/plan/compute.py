"""Compute and hardware: what a (parameters, tokens) run costs in FLOPs, PF-days and GPU-days.

Why this is its own module: every other part of the planner (rules, allocation, memory, data) prices
things in the same units, so the unit constants and the 6·N·D cost model live in one place that
imports nothing else from the planner.

Sources: C ≈ 6·N·D training FLOPs; 1 PF-day = 1e15 · 86,400 = 8.64e19 FLOPs (Kaplan et al. 2020;
Hoffmann et al. 2022 App. F). GPU peaks are vendor dense (no sparsity) figures for the training dtype.
"""

from __future__ import annotations

import re

from dataclasses import dataclass

PF_DAY_FLOPS = 1e15 * 24 * 3600  # 8.64e19
FLOPS_PER_PARAM_TOKEN = 6.0  # forward 2 + backward 4 FLOPs per parameter per token
GB = 1e9  # memory and token figures are decimal (GPU vendors quote 80 GB = 80e9 bytes)


@dataclass(frozen=True)
class GpuSpec:
    """Vendor dense (no sparsity) peak for the training dtype, and memory in decimal bytes."""

    name: str
    peak_flops: float
    memory_bytes: float
    dtype: str


GPUS: dict[str, GpuSpec] = {
    "a100": GpuSpec("A100 80GB", 312e12, 80 * GB, "bf16"),
    "a100-40": GpuSpec("A100 40GB", 312e12, 40 * GB, "bf16"),
    "h100": GpuSpec("H100 SXM 80GB", 989e12, 80 * GB, "bf16"),
    "h200": GpuSpec("H200 141GB", 989e12, 141 * GB, "bf16"),
    "v100": GpuSpec("V100 32GB", 125e12, 32 * GB, "fp16"),
}


def human_count(x: float) -> str:
    """7e9 -> '7B', 1.4e12 -> '1.4T' (3 significant digits)."""
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


_COUNT = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMbBgGtTpP]?)\s*")
_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}


def parse_count(text: str) -> float | None:
    """'7B' -> 7e9, '1.4T' -> 1.4e12, '300M', '7e9' (K, M, B/G, T, P); None when it is not a count.
    The inverse of `human_count`, shared by the planner's options and the pipeline's mix section."""
    m = _COUNT.fullmatch(str(text))
    return float(m.group(1)) * _SUFFIX[m.group(2).lower()] if m else None


def training_flops(params: float, tokens: float) -> float:
    """C ≈ 6·N·D (Kaplan et al. 2020; Hoffmann et al. 2022 App. F: within 0.99-1.10 of exact)."""
    return FLOPS_PER_PARAM_TOKEN * params * tokens


def pf_days(flops: float) -> float:
    return flops / PF_DAY_FLOPS


def gpu_days(flops: float, gpu: GpuSpec, mfu: float) -> float:
    """Days of one GPU running at ``mfu`` of its dense peak."""
    return flops / (gpu.peak_flops * mfu * 86_400)


def flops_from_gpu_hours(hours: float, gpu: GpuSpec, mfu: float) -> float:
    return hours * 3600 * gpu.peak_flops * mfu
