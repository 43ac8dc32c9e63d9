"""Mix stage: the run's per-source token files -> mixed shards + manifest.json (see curate.mix.engine).

One task (resumable through its marker); all the work is in `curate.mix.mix_to_dir`, which the
ablation sweep also calls directly to re-mix at other ratios without re-tokenizing.
"""

from __future__ import annotations

from curate import stats
from curate.exec.base import Task, marker_fingerprint
from curate.fingerprint import content_hash, digest
from curate.mix.config import MixConfig
from curate.mix.engine import mix_to_dir
from curate.stages.base import Stage
from curate.tokenize.config import TokenizerConfig
from curate.tokenize.tokenizer import load_tokenizer

STAGE = "mix"


def _mix_task(tokens_dir: str, sources: dict, cfg: dict, out_dir: str, seed: int, tokenizer_info: dict, config: dict) -> dict:
    res = mix_to_dir(tokens_dir, sources, MixConfig.model_validate(cfg), out_dir, seed, tokenizer_info, config=config)
    mixture = res["mixture"]
    rows = [stats.row(n, docs_in=s["available_documents"], docs_out=s["documents"], tokens=s["tokens"], epochs=s["epochs"],
                      available_tokens=s["available_tokens"], repeated_tokens=s["repeated_tokens"]) for n, s in mixture["sources"].items()]
    shards = {"train_shards": sum(1 for s in res["shards"] if s["split"] == "train"),
              "val_shards": sum(1 for s in res["shards"] if s["split"] == "val"),
              "unique_tokens": mixture["unique_tokens"], "planned_total_tokens": mixture["planned_total_tokens"]}
    return stats.stage_stats(rows, total_extra=shards, target=mixture["target"], achieved=mixture["achieved"],
                             warnings=mixture["warnings"])


def mix_streams(sources) -> dict[str, dict]:
    """Token streams to mix: one per source, or one per (source, role) for a routed source, named
    `<source>-<role>` (`mix.by: source` targets use these names)."""
    return {s.stream(role): ({"role": role, "source": s.name} if s.routes else {"role": role}) for s in sources for role in s.roles}


class MixStage(Stage):
    """Per-(source, role) token files -> mixed train shards + held-out shards (one resumable task)."""

    def run(self) -> dict:
        ctx = self.ctx
        cfg = ctx.cfg.mix or MixConfig()
        tcfg = ctx.cfg.tokenizer or TokenizerConfig()
        tok = load_tokenizer(tcfg.tokenizer_file(ctx.root, ctx.layout.tokenizer), tcfg.eos)
        kwargs = dict(tokens_dir=str(ctx.layout.tokens_dir), sources=mix_streams(ctx.cfg.sources),
                      cfg=cfg.model_dump(mode="json"), out_dir=str(ctx.run_dir), seed=ctx.seed, tokenizer_info=tok.info(ctx.run_dir),
                      config=ctx.cfg.model_dump(mode="json"))
        # what decides the shards: the mix section, the seed, roles, the tokenizer and the token files
        # (their merge tasks' fingerprints); the manifest's copy of the whole config is rewritten by
        # the pipeline after every run, so other config changes do not redo the mix
        fp = digest("mix", kwargs["cfg"], ctx.seed, kwargs["sources"], content_hash(tok.path),
                    [[s.name, marker_fingerprint(ctx.run_dir, "tokenize-merge", s.name)] for s in ctx.cfg.sources])
        return ctx.executor.map(STAGE, [Task(id="mix", fn=_mix_task, kwargs=kwargs, fingerprint=fp)], desc="mix")[0]
