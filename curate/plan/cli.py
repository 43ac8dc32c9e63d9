"""`curate plan`: the scaling-law planner's command line (tables with rich, or --json).

All arithmetic lives in `curate.plan`; this module parses options and renders a `Plan`.
"""

from __future__ import annotations

import dataclasses
import json
import math

import click
from rich.console import Console
from rich.table import Table

from curate.errors import CurateError
from curate.plan import (
    DEFAULT_MAX_EPOCHS, DEFAULT_RULE, GPUS, RECOMPUTE, RULES, ModelShape, Plan, flops_from_gpu_hours,
    human_count, make_plan, parse_count, PF_DAY_FLOPS,
)


class Quantity(click.ParamType):
    """A positive number: 7e9, 7000000000, 7B, 1.4T, 300M (K, M, B/G, T, P = 1e3 ... 1e15)."""

    name = "NUMBER"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        number = parse_count(value)
        if number is None:
            self.fail(f"{value!r} is not a number (examples: 7e9, 7B, 1.4T)", param, ctx)
        if number <= 0:
            self.fail(f"{value!r} must be positive", param, ctx)
        return number


QUANTITY = Quantity()


def parse_mix(text: str | None) -> dict[str, float] | None:
    """'domain=0.51,general=0.49' -> {'domain': 0.51, 'general': 0.49}."""
    if text is None:
        return None
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, val = part.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            out[key.strip()] = float(val)
        except ValueError:
            raise click.BadParameter(f"{part!r} is not KEY=SHARE (e.g. domain=0.51,general=0.49)",
                                     param_hint="--mix") from None
    return out


def _gb(x: float) -> str:
    return f"{x / 1e9:,.1f} GB"


def _jsonable(obj):
    """asdict() output with non-finite floats as null (JSON has no Infinity)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def plan_to_json(plan: Plan) -> str:
    return json.dumps(_jsonable(dataclasses.asdict(plan)), indent=2, sort_keys=True, ensure_ascii=False)


def render(plan: Plan, console: Console) -> None:
    gpu = GPUS[plan.gpu]
    console.print(f"[bold]curate plan[/bold]: {plan.basis}, budget {plan.compute:.3g} FLOPs "
                  f"= {plan.compute / PF_DAY_FLOPS:,.1f} PF-days; rule [bold]{plan.rule}[/bold]; "
                  f"{gpu.name} ({gpu.peak_flops / 1e12:g} TFLOP/s {gpu.dtype}) at {plan.mfu:.0%} MFU")

    t = Table(title="Compute-optimal allocation (C = 6·N·D)" + (" at the given configuration's compute"
                                                              if plan.evaluation else ""))
    for col in ("rule", "params N", "tokens D", "D/N", "FLOPs", "PF-days", f"{plan.gpu} GPU-days",
                "loss (Epoch)", "loss (Hoffmann)"):
        t.add_column(col, justify="left" if col == "rule" else "right")
    for a in plan.allocations:
        mark = " *" if a.rule == plan.rule else ""
        t.add_row(a.rule + mark, human_count(a.params), human_count(a.tokens), f"{a.tokens_per_param:.1f}",
                  f"{a.compute:.3g}", f"{a.pf_days:,.1f}", f"{a.gpu_days:,.0f}",
                  f"{a.loss_epoch:.3f}", f"{a.loss_chinchilla:.3f}")
    console.print(t)

    if plan.evaluation:
        e = plan.evaluation
        t = Table(title="Given configuration", show_header=False)
        t.add_column("what")
        t.add_column("value", justify="right")
        for k, v in (
            ("params / tokens", f"{human_count(e.params)} / {human_count(e.tokens)}"),
            ("compute (6ND)", f"{e.compute:.3g} FLOPs = {e.pf_days:,.1f} PF-days"),
            (f"{plan.gpu} GPU-days at {plan.mfu:.0%} MFU", f"{e.gpu_days:,.0f}"),
            ("tokens per parameter",
             f"{e.tokens_per_param:.1f} (20x: {'below' if e.below_20x else 'at or above'})"),
            (f"optimal tokens/param ({plan.rule})", f"{e.optimal_tokens_per_param:.1f}"),
            ("verdict", e.verdict),
            ("loss Epoch / Hoffmann", f"{e.loss_epoch:.3f} / {e.loss_chinchilla:.3f}"),
            ("Epoch loss at optimum, same compute", f"{e.optimal_loss_epoch:.3f}"),
        ):
            t.add_row(k, v)
        console.print(t)

    m = plan.memory
    shape = f"{m.shape.layers} layers, hidden {m.shape.hidden}, {m.shape.heads} heads"
    t = Table(title=f"Memory to hold {human_count(m.params)} parameters ({m.gpu})")
    for col in ("to hold", "bytes/param", "weights", "GPUs"):
        t.add_column(col, justify="left" if col == "to hold" else "right")
    for h in m.hold:
        t.add_row(h.dtype, f"{h.bytes_per_param:g}", _gb(h.total_bytes), str(h.gpus))
    console.print(t)
    t = Table(title="Memory to train",
              caption=f"activations: {m.activation_formula}; {shape}"
                      f"{' (estimated from size)' if m.shape_estimated else ''}; micro-batch "
                      f"{m.micro_batch} × {m.seq_len} tokens; recompute {m.recompute}. GPUs: model "
                      "state sharded (ZeRO-3), each GPU keeps its own micro-batch's activations.")
    for col in ("recipe", "state B/param", "model state", "activations", "total (1 replica)", "GPUs"):
        t.add_column(col, justify="left" if col == "recipe" else "right")
    for r in m.train:
        act = _gb(r.activation_bytes) + (" (fixed 8 B/param)" if r.recipe == "seed rule of thumb" else "")
        if r.gpus is None:
            gpus = "never fits"
        elif r.gpus_recompute in ("-", m.recompute):
            gpus = str(r.gpus)
        else:
            gpus = f"{r.gpus} ({r.gpus_recompute} recompute)"
        t.add_row(r.recipe, f"{r.bytes_per_param:g}", _gb(r.state_bytes), act, _gb(r.total_bytes), gpus)
    console.print(t)

    d = plan.data
    t = Table(title=f"Data for {human_count(d.tokens)} training tokens (mixture by {d.mixture_by}: "
                    + ", ".join(f"{k} {v:.0%}" for k, v in d.mixture.items()) + ")")
    for col in ("source", "role", "share", "tokens needed", "available", "epochs", "unique-equivalent"):
        t.add_column(col, justify="left" if col in ("source", "role") else "right")
    for s in d.sources:
        epochs = "-" if s.epochs is None else ("inf" if not math.isfinite(s.epochs) else f"{s.epochs:.2f}")
        style = "bold red" if s.over_cap else None
        t.add_row(s.name, s.role or "-", f"{s.share:.1%}", human_count(s.tokens_needed),
                  "-" if s.available_tokens is None else human_count(s.available_tokens), epochs,
                  "-" if s.effective_tokens is None else human_count(s.effective_tokens), style=style)
    console.print(t)
    if d.supported:
        t = Table(title=f"Largest compute-optimal model the corpus supports ({plan.rule})")
        for col in ("max epochs/source", "tokens", "params", "FLOPs", "limited by"):
            t.add_column(col, justify="right" if col != "limited by" else "left")
        for s in d.supported:
            t.add_row(f"{s.max_epochs:g}", human_count(s.tokens), human_count(s.params), f"{s.compute:.3g}",
                      s.limiting_source)
        console.print(t)

    for note in plan.notes:
        console.print(f"[dim]note:[/dim] {note}")
    for w in plan.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {w}")


HELP = f"""Plan a training run from a model size or a compute budget.

Give --params N (with --tokens D to judge a configuration you have), or one budget: --compute
FLOPs, --pf-days, or --gpu-hours with --gpu and --mfu. Prints the compute-optimal (N, D) under
three rules, cost, memory per parameter and GPUs, and the tokens each mixture key needs; with
--manifest RUN/manifest.json, the epochs each source of that run would need, a warning past
--max-epochs, and the largest compute-optimal model the corpus supports.

\b
Formulas and their sources:
  compute      C = 6·N·D FLOPs (Kaplan et al. 2020; Hoffmann et al. 2022 App. F)
  PF-day       1e15 FLOP/s × 86,400 s = {PF_DAY_FLOPS:.3g} FLOPs (Kaplan et al. 2020)
  GPU-days     C / (peak × MFU × 86,400)
  20x          D = 20·N (Hoffmann et al. 2022 Table 3)
  chinchilla   L = E + A/N^α + B/D^β, E=1.69 A=406.4 B=410.7 α=0.34 β=0.28
               (Hoffmann et al. 2022 eq. 10, approach 3, published; legacy)
  epoch        same law, E=1.8172 A=482.01 B=2085.43 α=0.3478 β=0.3658
               (Besiroglu et al. 2024, Epoch AI refit; the default)
  frontier     N_opt = G·(C/6)^(β/(α+β)), D_opt = (C/6)^(α/(α+β))/G, G = (αA/(βB))^(1/(α+β))
  memory       hold: fp32 4, fp16/bf16 2, int8 1 B/param; train: mixed-precision Adam
               2+2+12 = 16 B/param (ZeRO, Rajbhandari et al. 2020), fp32 Adam 4+4+8 = 16,
               seed rule of thumb 4+20 = 24 (its 8 B of activations are a fixed guess)
  activations  per layer s·b·h·(34 + 5·a·s/h) bytes, no recompute; 34·s·b·h selective;
               2·s·b·h full (Korthikanti et al. 2022); 16-bit activations
  shape        without --layers/--hidden/--heads: hidden = e^5.039·e^0.0555·L
               (Levine et al. 2020, as in BloombergGPT), 128-dim heads
  repeats      unique-equivalent D' = U·(1 + R*·(1 − e^(−R/R*))), R = epochs − 1,
               R* = 15.39; ≤ 4 epochs ≈ unique (Muennighoff et al. 2023)
  mixture      default domain 51% / general 49% (BloombergGPT)

\b
GPUs (dense peak, memory): a100 312 TFLOP/s bf16 80 GB; a100-40 312, 40 GB;
h100 (SXM) 989 bf16, 80 GB; h200 989 bf16, 141 GB; v100 125 fp16, 32 GB.

\b
Examples:
  curate plan --params 70B                        # Chinchilla: ~1.4T tokens
  curate plan --params 175B --tokens 300B         # GPT-3: under-trained
  curate plan --gpu-hours 1.3e6 --gpu a100-40 --mfu 0.3
  curate plan --compute 1e21 --manifest runs/fin/manifest.json
"""


@click.command("plan", help=HELP,
               context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--params", type=QUANTITY, help="Model parameters N (e.g. 7e9 or 7B).")
@click.option("--tokens", type=QUANTITY,
              help="Training tokens D, with --params: evaluate this configuration.")
@click.option("--compute", type=QUANTITY, help="Compute budget in FLOPs (e.g. 1e23).")
@click.option("--pf-days", type=QUANTITY, help="Compute budget in petaflop/s-days (8.64e19 FLOPs each).")
@click.option("--gpu-hours", type=QUANTITY, help="Compute budget in GPU-hours of --gpu at --mfu.")
@click.option("--gpu", type=click.Choice(sorted(GPUS)), default="a100", show_default=True,
              help="GPU for GPU-days, --gpu-hours and GPU counts.")
@click.option("--mfu", type=click.FloatRange(0, 1, min_open=True), default=0.4, show_default=True,
              help="Model FLOPs utilisation: achieved / dense peak.")
@click.option("--rule", type=click.Choice(list(RULES)), default=DEFAULT_RULE, show_default=True,
              help="Rule that sizes the model, the data plan and the supported model.")
@click.option("--layers", type=click.IntRange(1), help="Transformer layers (with --hidden and --heads).")
@click.option("--hidden", type=click.IntRange(1), help="Hidden size.")
@click.option("--heads", type=click.IntRange(1), help="Attention heads.")
@click.option("--seq-len", type=click.IntRange(1), default=2048, show_default=True, help="Sequence length.")
@click.option("--micro-batch", type=click.IntRange(1), default=1, show_default=True,
              help="Sequences per GPU per step (activations scale with it).")
@click.option("--recompute", type=click.Choice(RECOMPUTE), default="none", show_default=True,
              help="Activation recomputation.")
@click.option("--mix", "mix", metavar="KEY=SHARE,...",
              help="Mixture by role or source (default: the manifest's target, "
                   "else domain=0.51,general=0.49).")
@click.option("--manifest", type=click.Path(dir_okay=False),
              help="A run's manifest.json to check data against.")
@click.option("--max-epochs", type=click.FloatRange(0, min_open=True), default=DEFAULT_MAX_EPOCHS,
              show_default=True, help="Epochs per source beyond which to warn.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(params, tokens, compute, pf_days, gpu_hours, gpu, mfu, rule, layers, hidden, heads, seq_len,
         micro_batch, recompute, mix, manifest, max_epochs, as_json):
    budgets = [b for b in (compute, pf_days, gpu_hours) if b is not None]
    if len(budgets) + (params is not None) != 1:
        raise click.UsageError("give exactly one of --params, --compute, --pf-days, --gpu-hours")
    if pf_days is not None:
        compute = pf_days * PF_DAY_FLOPS
    if gpu_hours is not None:
        compute = flops_from_gpu_hours(gpu_hours, GPUS[gpu], mfu)
    dims = (layers, hidden, heads)
    if any(x is not None for x in dims) and not all(x is not None for x in dims):
        raise click.UsageError("give all of --layers, --hidden and --heads, "
                               "or none (then a shape is estimated)")
    shape = ModelShape(layers, hidden, heads) if layers is not None else None
    try:
        result = make_plan(params=params, tokens=tokens, compute=compute, rule=rule, gpu=gpu, mfu=mfu,
                           shape=shape, seq_len=seq_len, micro_batch=micro_batch, recompute=recompute,
                           mixture=parse_mix(mix), manifest=manifest, max_epochs=max_epochs)
    except CurateError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(plan_to_json(result))
        return
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=130)
    render(result, console)
