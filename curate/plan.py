"""Scaling-law planning: how big a model a budget buys, how many tokens it needs, and what it costs.

Why this exists: a domain corpus is only useful if it holds enough curated tokens for the model it is
meant to train. Compute-optimal training wants about 20 tokens per parameter (Chinchilla), memory per
parameter decides the hardware, and repeating a small source too often wastes compute. This module
turns a model size, a FLOP budget or a GPU-hour budget into those numbers, and checks them against
the tokens a curate run actually produced (its ``manifest.json``).

Pure library: dataclasses and functions, no printing. ``curate.plan_cli`` renders the results.

Sources (numbers quoted in /work/shared/REFERENCES.md):
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

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from curate.errors import CurateError

PF_DAY_FLOPS = 1e15 * 24 * 3600  # 8.64e19
FLOPS_PER_PARAM_TOKEN = 6.0  # forward 2 + backward 4 FLOPs per parameter per token
GB = 1e9  # memory and token figures are decimal (GPU vendors quote 80 GB = 80e9 bytes)

# ---------------------------------------------------------------------------------------------------
# Rules: how compute splits between parameters N and tokens D


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
DEFAULT_RULE = "epoch"  # REFERENCES.md §2: default to the Epoch refit (or 20x), not the published A3

# ---------------------------------------------------------------------------------------------------
# Hardware


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


# ---------------------------------------------------------------------------------------------------
# Allocation and evaluation


@dataclass(frozen=True)
class Allocation:
    """One rule's compute-optimal (N, D) with its cost and predicted loss under both loss laws."""

    rule: str
    params: float
    tokens: float
    compute: float
    tokens_per_param: float
    pf_days: float
    gpu_days: float
    loss_epoch: float
    loss_chinchilla: float


def allocation(rule: Rule, params: float, tokens: float, gpu: GpuSpec, mfu: float) -> Allocation:
    c = training_flops(params, tokens)
    return Allocation(
        rule=rule.name, params=params, tokens=tokens, compute=c, tokens_per_param=tokens / params,
        pf_days=pf_days(c), gpu_days=gpu_days(c, gpu, mfu),
        loss_epoch=EPOCH.loss(params, tokens), loss_chinchilla=CHINCHILLA.loss(params, tokens),
    )


def allocate_for_compute(compute: float, gpu: GpuSpec, mfu: float) -> list[Allocation]:
    return [allocation(r, *r.optimal(compute), gpu, mfu) for r in RULES.values()]


def allocate_for_params(params: float, gpu: GpuSpec, mfu: float) -> list[Allocation]:
    return [allocation(r, params, r.tokens_for_params(params), gpu, mfu) for r in RULES.values()]


@dataclass(frozen=True)
class Evaluation:
    """A given (N, D) judged against the optimum at the same compute under the chosen rule."""

    params: float
    tokens: float
    compute: float
    pf_days: float
    gpu_days: float
    tokens_per_param: float
    below_20x: bool
    optimal_tokens_per_param: float  # chosen rule, at this compute
    verdict: str  # "under-trained" | "near compute-optimal" | "over-trained (small for its compute)"
    loss_epoch: float
    loss_chinchilla: float
    optimal_loss_epoch: float  # Epoch law at its own optimum for this compute


def evaluate(params: float, tokens: float, rule: Rule, gpu: GpuSpec, mfu: float) -> Evaluation:
    c = training_flops(params, tokens)
    n_opt, d_opt = rule.optimal(c)
    ratio, opt_ratio = tokens / params, d_opt / n_opt
    if ratio < opt_ratio / 1.5:
        verdict = "under-trained"
    elif ratio > opt_ratio * 1.5:
        verdict = "over-trained (small for its compute)"
    else:
        verdict = "near compute-optimal"
    return Evaluation(
        params=params, tokens=tokens, compute=c, pf_days=pf_days(c), gpu_days=gpu_days(c, gpu, mfu),
        tokens_per_param=ratio, below_20x=ratio < TWENTY_X.ratio, optimal_tokens_per_param=opt_ratio,
        verdict=verdict, loss_epoch=EPOCH.loss(params, tokens),
        loss_chinchilla=CHINCHILLA.loss(params, tokens),
        optimal_loss_epoch=EPOCH.loss(*EPOCH.optimal(c)),
    )


def explain_disagreement(allocs: list[Allocation]) -> list[str]:
    """Say why the rules disagree: published Chinchilla vs the others by >25%, Epoch vs 20x by >10%."""
    by = {a.rule: a for a in allocs}
    notes: list[str] = []
    hof, epo, twenty = by["chinchilla"], by["epoch"], by["20x"]
    if hof.tokens_per_param > 1.25 * max(epo.tokens_per_param, twenty.tokens_per_param):
        notes.append(
            f"The published Chinchilla approach-3 constants ask for {hof.tokens_per_param:.0f} "
            f"tokens/param here, against {epo.tokens_per_param:.1f} (Epoch) and 20 (rule of thumb). "
            f"Their exponents (N_opt ∝ C^{CHINCHILLA.a:.2f}, D_opt ∝ C^{CHINCHILLA.b:.2f}) make "
            "tokens/param grow with compute (93 at "
            "Chinchilla's own 5.76e23 FLOPs), contradicting the paper's approaches 1-2 and the "
            "70B/1.4T model it trained. Besiroglu et al. 2024 traced this to the fit (Huber loss "
            "averaged, so L-BFGS stopped early; rounded constants); their refit gives ~20. "
            "Treat 'chinchilla' as a legacy reading."
        )
    if abs(epo.tokens_per_param / twenty.tokens_per_param - 1) > 0.10:
        side = "more" if epo.tokens_per_param > 20 else "fewer"
        notes.append(
            f"The Epoch refit wants {epo.tokens_per_param:.1f} tokens/param here ({side} than 20): "
            f"its optimum drifts from ~24 at 1e19 FLOPs to ~18 at 6e23 (N_opt ∝ C^{EPOCH.a:.3f}), "
            "so 20x is only exact near 1e22 FLOPs."
        )
    return notes


LOSS_CAVEAT = (
    "Predicted losses are nats/token on Hoffmann et al.'s MassiveText with their tokenizer; they do "
    "not transfer to another corpus or tokenizer (BloombergGPT §3.2), so compare them only with each "
    "other."
)

# ---------------------------------------------------------------------------------------------------
# Memory


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


# ---------------------------------------------------------------------------------------------------
# Data: tokens per source, epochs, repeated-data value

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


@dataclass(frozen=True)
class ManifestSource:
    name: str
    role: str
    available_tokens: int
    run_tokens: int | None  # tokens the run actually mixed from it (optional in the manifest)


def _need(obj: dict, key: str, where: str, path: Path, kinds: tuple[type, ...]):
    """obj[key], or an error naming the manifest, the dotted key and what it should hold."""
    if not isinstance(obj, dict) or key not in obj:
        raise CurateError(f"missing key {where}{key}", where=str(path),
                          fix="pass a manifest.json written by the mix stage (`curate run`), or add the key")
    val = obj[key]
    if not isinstance(val, kinds) or isinstance(val, bool):
        raise CurateError(f"key {where}{key} has type {type(val).__name__}", where=str(path),
                          fix=f"it must be {' or '.join(k.__name__ for k in kinds)}")
    return val


def read_manifest(path: str | Path) -> tuple[list[ManifestSource], dict[str, float] | None]:
    """The sources (role, available tokens) and target mixture of a run's manifest.json.

    Required: mixture.sources.<name>.role and .available_tokens. Optional: .tokens, mixture.target.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CurateError("manifest not found", where=str(path),
                          fix="pass RUN/manifest.json of a finished run") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CurateError(f"not valid JSON: {exc}", where=str(path),
                          fix="pass the manifest.json a run wrote") from None
    mixture = _need(doc, "mixture", "", path, (dict,))
    raw = _need(mixture, "sources", "mixture.", path, (dict,))
    if not raw:
        raise CurateError("mixture.sources is empty", where=str(path),
                          fix="the run mixed no sources; rerun the mix stage")
    sources = []
    def by_role(name: str) -> tuple[str, str]:
        entry = raw[name]
        return (str(entry.get("role", "")) if isinstance(entry, dict) else "", name)

    for name in sorted(raw, key=by_role):
        at = f"mixture.sources.{name}."
        entry = _need(raw, name, "mixture.sources.", path, (dict,))
        role = _need(entry, "role", at, path, (str,))
        avail = _need(entry, "available_tokens", at, path, (int, float))
        run_tokens = entry.get("tokens")
        if avail < 0:
            raise CurateError(f"{at}available_tokens is negative", where=str(path), fix="fix the manifest")
        sources.append(ManifestSource(name, role, int(avail),
                                      int(run_tokens) if isinstance(run_tokens, (int, float)) else None))
    target = mixture.get("target")
    if target is not None and not (isinstance(target, dict)
                                   and all(isinstance(v, (int, float)) for v in target.values())):
        raise CurateError("mixture.target must map names to shares", where=str(path), fix="fix the manifest")
    return sources, ({str(k): float(v) for k, v in target.items()} if target else None)


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


# ---------------------------------------------------------------------------------------------------
# The whole plan


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
