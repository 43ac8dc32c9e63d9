"""`curate train` and `curate ablate`: thin wrappers over curate.train.trainer / curate.train.ablate."""

from __future__ import annotations

from pathlib import Path

import click
import orjson
from pydantic import ValidationError

from curate.errors import ConfigError

from curate.train.loader import parse_blend


@click.command(context_settings={"show_default": True})
@click.argument("data", nargs=-1, required=True)
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Output folder: log.jsonl, checkpoint.pt, summary.json. Rerun to resume.  [default: RUN/proxy/<model>-<objective> when DATA is one run directory]")
@click.option("--model", default="tiny", help="Model preset: tiny (2x128), small (6x384), base (12x768).")
@click.option("--objective", type=click.Choice(["clm", "mlm", "span"]), default="clm", help="Causal LM, masked LM (BERT) or span corruption (T5).")
@click.option("--steps", default=100, help="Optimizer steps.")
@click.option("--seq-len", default=128)
@click.option("--batch-size", default=8, help="Windows per micro-batch per rank.")
@click.option("--grad-accum", default=1, help="Micro-batches per optimizer step.")
@click.option("--lr", default=1e-3, help="Peak learning rate (AdamW).")
@click.option("--min-lr-ratio", default=0.1, help="Cosine floor as a fraction of --lr.")
@click.option("--warmup", "warmup_steps", type=int, default=None, help="Warmup steps [default: 5% of --steps].")
@click.option("--weight-decay", default=0.1)
@click.option("--grad-clip", default=1.0, help="Clip the global grad norm (0 = off).")
@click.option("--seed", default=0)
@click.option("--eval-every", default=0, help="Held-out evaluation every N steps (0 = at the end only).")
@click.option("--eval-windows", default=32, help="Held-out windows per source.")
@click.option("--ckpt-every", default=100, help="Checkpoint every N steps (and always at the end).")
@click.option("--log-every", default=10)
@click.option("--vocab-size", type=int, default=None, help="Only for shards without a manifest [default: largest id + 1].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option("--threads", type=int, default=None, help="CPU threads [default: usable cores, at most 16].")
@click.option("--compile/--no-compile", default=False, help="torch.compile the model (CUDA; slow start, faster steps).")
@click.option("--peak-flops", type=float, default=None, help="Peak FLOP/s per device for MFU [default on CUDA: 989e12, H100 bf16 dense].")
@click.option("--stop-at", type=int, default=None, help="Pause after this step (checkpointed); rerun without it to finish.")
@click.option("--quiet", is_flag=True, help="Do not echo log rows.")
def train(data, out, stop_at, device, threads, compile, peak_flops, quiet, **opts):
    """Train a small proxy model on DATA: a run directory, its shards/ folder, or .bin shards;
    or a Megatron-style blend `W1 PATH1 W2 PATH2 ...`.

    \b
    Examples:
      curate train runs/demo --steps 300                    (into runs/demo/proxy/tiny-clm)
      curate train 0.7 runs/fin 0.3 runs/web --objective mlm --out out/blend
    """
    from curate.train.trainer import Runtime, TrainConfig
    from curate.train.trainer import train as run_train

    try:
        cfg = TrainConfig(**opts)
        rt = Runtime(device=device, threads=threads, compile=compile, peak_flops=peak_flops, quiet=quiet)
    except ValidationError as exc:
        bad = "; ".join(f"--{'-'.join(str(x) for x in e['loc']).replace('_', '-')}: {e['msg']}" for e in exc.errors())
        raise ConfigError(bad, where="curate train", fix="see `curate train --help`") from None
    blend = parse_blend(data)
    if out is None:
        out = default_out(blend, cfg.model, cfg.objective)
        click.echo(f"output: {out}", err=True)
    summary = run_train(blend, cfg, Path(out), rt, stop_at=stop_at)
    click.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())


def default_out(blend: list[tuple[float, str]], model: str, objective: str) -> Path:
    """RUN/proxy/<model>-<objective> for one run directory (or its shards/ folder); a blend or loose
    shards need --out."""
    if len(blend) == 1:
        path = Path(blend[0][1])
        run = path.parent if path.name == "shards" and (path.parent / "manifest.json").exists() else path
        if (run / "manifest.json").exists():
            return run / "proxy" / f"{model}-{objective}"
    raise ConfigError("--out is needed when DATA is not one run directory", where="curate train",
                      fix="pass --out DIR (the folder for log.jsonl, checkpoint.pt and summary.json)")


@click.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--quiet", is_flag=True, help="Do not echo training log rows.")
def ablate(config, quiet):
    """Run the ablation in CONFIG (YAML): for each arm re-mix the run's per-source tokens at another
    ratio, or re-select its annotated data at another threshold (set_rule/select arms; no signal is
    recomputed, the run's tokenizer is reused), train the same proxy on each, and report held-out loss
    per source and role (CSV, Markdown, PNG) with the best arm. Rerun to resume; finished arms are skipped."""
    from curate.train.ablate import run_ablation

    res = run_ablation(Path(config), quiet=quiet)
    click.echo(res["markdown"])
    click.echo(f"results: {res['dir']}")
