"""Memory: bytes per parameter to hold or train a model, activation memory, and the GPUs it needs.

Why: memory per parameter, not FLOPs, decides the smallest hardware a model can train on, and
activations (which grow with sequence length and micro-batch) can rule a GPU out on their own.

Sources: ZeRO (Rajbhandari et al. 2020) mixed-precision Adam = 16 B/param; activations per layer
s·b·h·(34 + 5·a·s/h) bytes without recomputation (Korthikanti et al. 2022, arXiv 2205.05198); model
shape from size: hidden = exp(5.039)·exp(0.0555·layers) (Levine et al. 2020, as used by BloombergGPT
§3.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from curate.errors import CurateError
from curate.plan.compute import GpuSpec


HOLD_BYTES_PER_PARAM: dict[str, float] = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


@dataclass(frozen=True)
class TrainRecipe:
    """Bytes per parameter of model state while training (weights, gradients, optimizer)."""

    name: str
    parts: tuple[tuple[str, float], ...]
    includes_activations: bool
    citation: str

    @property
    def bytes_per_param(self) -> float:
        return sum(b for _, b in self.parts)


TRAIN_RECIPES: tuple[TrainRecipe, ...] = (
    TrainRecipe(
        "mixed-precision Adam",
        (("fp16/bf16 weights", 2), ("fp16/bf16 grads", 2), ("fp32 master+m+v", 12)),
        False, "ZeRO, Rajbhandari et al. 2020 §3.1: 2+2+12 = 16 B/param",
    ),
    TrainRecipe(
        "fp32 Adam",
        (("fp32 weights", 4), ("fp32 grads", 4), ("Adam m+v", 8)),
        False, "4+4+8 = 16 B/param",
    ),
    TrainRecipe(
        "seed rule of thumb",
        (("fp32 weights", 4), ("Adam m+v", 8), ("grads", 4), ("activations+temp (fixed)", 8)),
        True, "course notes: 4 to hold + 20 extra to train = 24 B/param; its 8 B are an activation guess",
    ),
)


@dataclass(frozen=True)
class ModelShape:
    """The transformer dimensions activations depend on."""

    layers: int
    hidden: int
    heads: int

    def params(self, vocab: int = 0, tied_embeddings: bool = True) -> float:
        """≈ 12·L·h² for attention + 4h MLP blocks, plus embeddings (two matrices when untied)."""
        return 12 * self.layers * self.hidden**2 + (1 if tied_embeddings else 2) * vocab * self.hidden

    @classmethod
    def for_params(cls, params: float, head_dim: int = 128) -> "ModelShape":
        """Levine et al. 2020 depth/width (hidden = e^5.039·e^0.0555·L, BloombergGPT §3.2) solved so
        that 12·L·h² ≈ params; hidden rounded to whole heads of ``head_dim``. An estimate: pass your
        real shape when you have one."""
        def size(layers: float) -> float:
            return 12 * layers * math.exp(2 * (5.039 + 0.0555 * layers))
        lo, hi = 1.0, 400.0
        for _ in range(100):  # size() is increasing in layers: bisect
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if size(mid) < params else (lo, mid)
        layers = max(1, round(lo))
        hidden = math.sqrt(params / (12 * layers))
        heads = max(1, round(hidden / head_dim))
        return cls(layers=layers, hidden=heads * head_dim, heads=heads)


RECOMPUTE = ("none", "selective", "full")


def activation_bytes(shape: ModelShape, seq_len: int, micro_batch: float, recompute: str = "none") -> float:
    """Activation memory of the transformer layers for one micro-batch, 16-bit activations.

    Korthikanti et al. 2022 (Reducing Activation Recomputation in Large Transformer Models), per layer:
    none: s·b·h·(34 + 5·a·s/h); selective (attention recomputed): 34·s·b·h; full (only each layer's
    input kept): 2·s·b·h. Embedding, logits and framework buffers are not counted.
    """
    s, b, h, a = seq_len, micro_batch, shape.hidden, shape.heads
    if recompute == "none":
        per_layer = s * b * h * (34 + 5 * a * s / h)
    elif recompute == "selective":
        per_layer = 34 * s * b * h
    elif recompute == "full":
        per_layer = 2 * s * b * h
    else:
        raise CurateError(f"unknown recompute mode {recompute!r}", fix=f"use one of {', '.join(RECOMPUTE)}")
    return shape.layers * per_layer


def micro_batch_for_activations(shape: ModelShape, seq_len: int, target_bytes: float,
                                recompute: str = "none") -> float:
    """The (fractional) micro-batch whose activations take ``target_bytes`` (they are linear in b)."""
    return target_bytes / activation_bytes(shape, seq_len, 1, recompute)


@dataclass(frozen=True)
class HoldRow:
    dtype: str
    bytes_per_param: float
    total_bytes: float
    gpus: int


@dataclass(frozen=True)
class TrainRow:
    recipe: str
    bytes_per_param: float
    state_bytes: float
    activation_bytes: float  # modelled for this micro-batch, or the recipe's own fixed guess
    total_bytes: float  # one replica, unsharded
    gpus: int | None  # ZeRO-3 shards state over n GPUs; each keeps its own activations. None: never fits
    gpus_recompute: str  # the recompute mode ``gpus`` assumes: the requested one, or the first that fits
    citation: str


@dataclass(frozen=True)
class MemoryPlan:
    params: float
    gpu: str
    gpu_memory_bytes: float
    shape: ModelShape
    shape_estimated: bool
    seq_len: int
    micro_batch: int
    recompute: str
    activation_formula: str
    hold: list[HoldRow]
    train: list[TrainRow]


def gpus_for_training(state_bytes: float, act_bytes: float, gpu_memory: float) -> int | None:
    """Smallest n with state/n + activations ≤ GPU memory (state fully sharded, ZeRO stage 3)."""
    free = gpu_memory - act_bytes
    return None if free <= 0 else max(1, math.ceil(state_bytes / free))


def memory_plan(params: float, gpu: GpuSpec, shape: ModelShape | None = None, seq_len: int = 2048,
                micro_batch: int = 1, recompute: str = "none") -> MemoryPlan:
    estimated = shape is None
    shape = shape or ModelShape.for_params(params)
    act = activation_bytes(shape, seq_len, micro_batch, recompute)
    hold = [HoldRow(d, b, b * params, math.ceil(b * params / gpu.memory_bytes))
            for d, b in HOLD_BYTES_PER_PARAM.items()]
    train = []
    for r in TRAIN_RECIPES:
        state = r.bytes_per_param * params
        if r.includes_activations:
            fixed = dict(r.parts)["activations+temp (fixed)"] * params
            row_act, n, mode = fixed, math.ceil(state / gpu.memory_bytes), "-"
        else:
            row_act, n, mode = act, None, recompute
            # Escalate recomputation (none -> selective -> full) until one micro-batch fits a GPU.
            for mode in RECOMPUTE[RECOMPUTE.index(recompute):]:
                mode_act = activation_bytes(shape, seq_len, micro_batch, mode)
                n = gpus_for_training(state, mode_act, gpu.memory_bytes)
                if n is not None:
                    break
        total = state if r.includes_activations else state + act
        train.append(TrainRow(r.name, r.bytes_per_param, state, row_act, total, n, mode, r.citation))
    formula = {
        "none": "L·s·b·h·(34 + 5·a·s/h) bytes",
        "selective": "L·34·s·b·h bytes",
        "full": "L·2·s·b·h bytes",
    }[recompute]
    return MemoryPlan(params, gpu.name, gpu.memory_bytes, shape, estimated, seq_len, micro_batch,
                      recompute, formula + " (Korthikanti et al. 2022, 16-bit activations)", hold, train)
