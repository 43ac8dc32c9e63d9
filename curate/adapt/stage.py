"""The `adapt` stage: after dedup, before select, learn per-document columns on the run's own data.

For each task: read the annotated files of its sources (text + the prior columns), leave out the
rows dedup dropped, run DSIR + self-training (`curate/adapt/task.py`) and write one sidecar Parquet
per annotated file (`RunLayout.adapt_sidecar`: the same rows in the same order) that select joins
by row. The fold models, the card (JSON + Markdown: priors, anchor and target with sha256, every
round's figures) go to `RUN/adapt/<task>/`. One resumable executor task per adapt task.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate import stats
from curate.adapt.config import AdaptConfig, AdaptTaskConfig
from curate.errors import ConfigError
from curate.exec.base import Task
from curate.io.atomic import atomic_path, sha256_file, write_json, write_text
from curate.stages.base import Stage

STAGE = "adapt"


def _resolve(root: str, p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() else Path(root) / q


def _dup_rows(drops: str | None, key: str, n: int) -> np.ndarray:
    from curate.stages.select import load_dup_reasons

    mask = np.zeros(n, bool)
    t = load_dup_reasons(drops, key)
    if t is not None and t.num_rows:
        mask[t.column("row").to_numpy()] = True
    return mask


def adapt_task(*, name: str, files: list[dict], drops: str | None, cfg: dict, root: str, seed: int, out_dir: str) -> dict:
    from curate.adapt.dsir import NgramModel
    from curate.adapt.task import run_task
    from curate.io.texts import read_texts

    t0 = time.perf_counter()
    tcfg = AdaptTaskConfig.model_validate(cfg)
    tables, dup, sizes = [], [], []
    for f in files:
        avail = pq.ParquetFile(f["annotated"]).schema_arrow.names
        missing = [c for c in tcfg.priors.values() if c not in avail]
        if missing:
            raise ConfigError(f"adapt task `{name}` needs column(s) {missing}, which the annotate stage did not produce",
                              where=f["annotated"], fix="add the signal that makes them under annotate:, or fix adapt.tasks[].priors")
        t = pq.read_table(f["annotated"], columns=["text", *dict.fromkeys(tcfg.priors.values())])
        tables.append(t)
        sizes.append(t.num_rows)
        dup.append(_dup_rows(drops, f["key"], t.num_rows))
    table = pa.concat_tables(tables) if tables else pa.table({"text": pa.array([], pa.large_string())})
    texts = pc.fill_null(table.column("text").combine_chunks().cast(pa.large_string()), "")
    learn = ~np.concatenate(dup) if dup else np.zeros(0, bool)
    if learn.sum() > tcfg.max_docs:
        keep = np.random.default_rng(seed).choice(np.flatnonzero(learn), tcfg.max_docs, replace=False)
        learn[:] = False
        learn[keep] = True
    priors = {k: np.nan_to_num(pc.fill_null(pc.cast(table.column(c), pa.float64()), 0.0).to_numpy(), nan=0.0) for k, c in tcfg.priors.items()}
    target = NgramModel.load(_resolve(root, tcfg.target)) if tcfg.target else None
    anchor_files = [_resolve(root, a) for a in tcfg.anchor]
    for a in anchor_files:
        if not a.is_file():
            raise ConfigError(f"adapt task `{name}`: anchor file {a} does not exist", where="adapt.tasks[].anchor", fix="give a path relative to the pipeline YAML")
    anchor = pa.concat_arrays([x.cast(pa.large_string()) for a in anchor_files for x in read_texts(a)]) if anchor_files else None
    if int(learn.sum()) < 20:
        raise ConfigError(f"adapt task `{name}` has {int(learn.sum())} documents to learn on (after dedup)", where="adapt",
                          fix="adapt learns from the pool itself: give it at least a few hundred documents")

    res = run_task(name, texts, priors, target, anchor, tcfg.selftrain, seed, learn=learn)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for k, m in enumerate(res.selftrain.models):
        m.save(out / f"fold{k}")
    keep_cols = [c for c in res.columns if not c.startswith(f"{name}_round")]
    rows, start = [], 0
    for f, n in zip(files, sizes):
        side = pa.table({c: pa.array(res.columns[c][start:start + n], pa.float64()) for c in keep_cols})
        Path(f["sidecar"]).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(f["sidecar"]) as tmp:
            pq.write_table(side, tmp, compression="zstd")
        score = res.columns[f"{name}_score"][start:start + n]
        rows.append(stats.row(f["source"], f["key"], docs_in=n, docs_out=n, **{f"{name}_at_0.5": int((score >= 0.5).sum())}))
        start += n
    card = {
        "task": name,
        "columns": keep_cols,
        "priors": tcfg.priors,
        "target": {"path": tcfg.target, "sha256": sha256_file(_resolve(root, tcfg.target))} if tcfg.target else None,
        "anchor": [{"path": a, "sha256": sha256_file(p), "documents": None} for a, p in zip(tcfg.anchor, anchor_files)],
        "anchor_documents": 0 if anchor is None else len(anchor),
        "selftrain": tcfg.selftrain.model_dump(mode="json"),
        "seed": seed,
        "models": [f"fold{k}{m.suffix}" for k, m in enumerate(res.selftrain.models)],
        "seconds": round(time.perf_counter() - t0, 3),
        **res.report,
    }
    write_json(out / "card.json", card)
    write_text(out / "card.md", render_card(card))
    return {"rows": rows, "report": card}


def render_card(card: dict) -> str:
    lines = [
        f"# Adapt task `{card['task']}`",
        "",
        f"Learned on {card['learned_on']:,} of {card['documents']:,} documents of this run (rows dedup dropped are scored, not learned on), "
        f"seed {card['seed']}, in {card['seconds']:.1f} s. Columns: {', '.join('`' + c + '`' for c in card['columns'])}.",
        "",
        f"Priors (round 0 ranks the pool by their mean percentile rank): {', '.join(card['priors_used'])}.",
        f"Anchor: {card['anchor_documents']:,} documents"
        + (f" ({', '.join(a['path'] for a in card['anchor'])})" if card["anchor"] else "") + "."
        + (f" DSIR target: {card['target']['path']} (sha256 `{card['target']['sha256'][:16]}…`)." if card.get("target") else ""),
        "",
        "| round | pool positives | pool negatives | anchor | share >= 0.5 | share >= positive_p |",
        "|---:|---:|---:|---:|---:|---:|",
        *(f"| {r['round']} | {r['pool_positives']:,} | {r['pool_negatives']:,} | {r['anchor_positives']:,} | {r['share_at_0.5']:.4f} | {r['share_at_positive_p']:.4f} |"
          for r in card["rounds"]),
        "",
        f"Threshold: `{card['task']}_score >= 0.5` is the routing cut the method is built for (models trained on "
        "pseudo-labels of the pool itself; see docs/classifiers.md for its measured precision and recall on pools of "
        "unseen genres). No labels of this pool were used, so this card cannot state this pool's precision or recall; "
        "the share of documents at or above 0.5 is the model's estimate of the domain share.",
        "",
    ]
    return "\n".join(lines)


class AdaptStage(Stage):
    """Per adapt task: learn on the (deduplicated) annotated data, write sidecar columns."""

    def fingerprint(self) -> dict:
        fp = super().fingerprint()
        cfg: AdaptConfig = self.section()
        files = {}
        for t in cfg.tasks:
            for p in ([t.target] if t.target else []) + list(t.anchor):
                path = _resolve(str(self.ctx.root), p)
                files[p] = sha256_file(path) if path.is_file() else None
        fp["files"] = files
        return fp

    def run(self) -> dict:
        ctx = self.ctx
        cfg: AdaptConfig = self.section()
        known = {s.name for s in ctx.cfg.sources}
        drops = str(ctx.layout.drops) if ctx.layout.drops.exists() else None
        annotated = ctx.annotated_files()
        tasks = []
        for t in cfg.tasks:
            unknown = sorted(set(t.sources or ()) - known)
            if unknown:
                raise ConfigError(f"adapt task `{t.name}` names unknown sources {unknown}", where="adapt.tasks[].sources",
                                  fix=f"sources: {', '.join(sorted(known))}")
            files = [{"key": f.key, "annotated": str(p), "source": f.source.name, "sidecar": str(ctx.layout.adapt_sidecar(t.name, f.key))}
                     for f, p in annotated if t.sources is None or f.source.name in t.sources]
            tasks.append(Task(id=t.name, fn=adapt_task, weight=sum(Path(f["annotated"]).stat().st_size for f in files), kwargs=dict(
                name=t.name, files=files, drops=drops, cfg=t.model_dump(mode="json"), root=str(ctx.root), seed=ctx.seed,
                out_dir=str(ctx.layout.adapt_task_dir(t.name)))))
        results = ctx.executor.map(STAGE, tasks, desc="adapt")
        seen, rows = set(), []
        for r in results:
            for row in r["rows"]:
                if row["file"] not in seen:  # a file scored by several tasks counts once
                    seen.add(row["file"])
                    rows.append({k: v for k, v in row.items() if not k.endswith("_at_0.5")})
        reports = {r["report"]["task"]: {k: r["report"][k] for k in ("documents", "learned_on", "rounds", "share_at_0.5", "priors_used")}
                   for r in results}
        return stats.stage_stats(rows, sources=sorted({f.source.name for f, _ in annotated}), tasks=reports)


def sidecars_for(ctx, source: str, key: str) -> list[str]:
    """The sidecar files select joins to one annotated file (tasks covering its source, in config order)."""
    cfg = getattr(ctx.cfg, "adapt", None)
    if cfg is None:
        return []
    return [str(ctx.layout.adapt_sidecar(t.name, key)) for t in cfg.tasks if t.sources is None or source in t.sources]
