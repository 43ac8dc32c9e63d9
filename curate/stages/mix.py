"""Mix stage: the run's per-source token files -> mixed shards + manifest.json (see curate.mix).

One task (resumable through its marker); all the work is in `curate.mix.mix_to_dir`, which the
ablation sweep also calls directly to re-mix at other ratios without re-tokenizing.
"""

from __future__ import annotations

from curate.context import RunContext
from curate.exec.base import Task, marker_fingerprint
from curate.fingerprint import content_hash, digest
from curate.mix import MixConfig, mix_to_dir
from curate.shards.tokenizer import TokenizerConfig, load_tokenizer
from curate.stages.tokenize import tokenizer_path

STAGE = "mix"


def _mix_task(tokens_dir: str, sources: dict, cfg: dict, out_dir: str, seed: int, tokenizer_info: dict, config: dict) -> dict:
    res = mix_to_dir(tokens_dir, sources, MixConfig.model_validate(cfg), out_dir, seed, tokenizer_info, config=config)
    mixture = res["mixture"]
    return {
        "sources": {n: {"docs": s["documents"], "tokens": s["tokens"], "epochs": s["epochs"], "available_tokens": s["available_tokens"]}
                    for n, s in mixture["sources"].items()},
        "total": {"tokens": mixture["total_tokens"], "train_shards": sum(1 for s in res["shards"] if s["split"] == "train"),
                  "val_shards": sum(1 for s in res["shards"] if s["split"] == "val")},
        "target": mixture["target"],
        "achieved": mixture["achieved"],
        "warnings": mixture["warnings"],
    }


def run(ctx: RunContext) -> dict:
    cfg = ctx.cfg.mix or MixConfig()
    tcfg = ctx.cfg.tokenizer or TokenizerConfig()
    tok = load_tokenizer(tokenizer_path(ctx), tcfg.eos)
    kwargs = dict(tokens_dir=str(ctx.tokens_dir), sources={s.name: {"role": s.role} for s in ctx.cfg.sources},
                  cfg=cfg.model_dump(mode="json"), out_dir=str(ctx.run_dir), seed=ctx.seed, tokenizer_info=tok.info(ctx.run_dir),
                  config=ctx.cfg.model_dump(mode="json"))
    fp = digest("mix", kwargs["cfg"], ctx.seed, kwargs["sources"], content_hash(tok.path),
                [[s.name, marker_fingerprint(ctx.run_dir, "tokenize-merge", s.name)] for s in ctx.cfg.sources])
    return ctx.executor.map(STAGE, [Task(id="mix", fn=_mix_task, kwargs=kwargs, fingerprint=fp)], desc="mix")[0]
