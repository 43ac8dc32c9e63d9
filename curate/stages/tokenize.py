"""Tokenize stage: each source's selected documents, once, into `tokens/<source>/<role>/train.{bin,idx}`
plus a held-out split `tokens/<source>/<role>/heldout.{bin,idx}`.

Why once per source: mixing (and every ablation's re-mix) only gathers documents from these files,
so changing a ratio never re-tokenizes. Work is one task per selected file (parallel, resumable),
each writing a part; parts are concatenated per source in file order, so the result is the same
for any worker count or executor. A document goes to the held-out split iff a hash of
(seed, id) falls below `val_fraction`: stable across reruns and re-partitioning.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.context import RunContext
from curate.errors import CurateError
from curate.exec.base import Task, marker_fingerprint, marker_path, read_marker
from curate.fingerprint import content_hash, digest
from curate.io.atomic import write_json
from curate.io.rundir import token_prefix
from curate.shards.megatron import MegatronWriter, concat_datasets
from curate.sampling import doc_keys, unit_hash
from curate.shards.tokenizer import (IdMismatch, LoadedTokenizer, TokenizerConfig, cached_tokenizer, default_threads, flatten,
                                     load_tokenizer, sample_texts, train_tokenizer)

STAGE = "tokenize"
log = logging.getLogger("curate.tokenize")


def tokenizer_path(ctx: RunContext) -> Path:
    """Where this run's tokenizer.json is: the configured one, or the trained one."""
    cfg = ctx.cfg.tokenizer or TokenizerConfig()
    if cfg.path:
        p = Path(cfg.path)
        return p if p.is_absolute() else ctx.root / p
    if cfg.out:
        p = Path(cfg.out)
        return p if p.is_absolute() else ctx.root / p
    return ctx.run_dir / "tokenizer" / "tokenizer.json"


def _train_task(files: list[str], cfg: dict, seed: int, out: str) -> dict:
    tcfg = TokenizerConfig.model_validate(cfg)
    texts = sample_texts([Path(f) for f in files], seed, tcfg.sample_bytes)
    train_tokenizer(texts, tcfg, out)
    tok = load_tokenizer(out, tcfg.eos)
    return {"sample_docs": len(texts), "sample_bytes": sum(len(t.encode("utf-8")) for t in texts), "vocab_size": tok.vocab_size, "sha256": tok.sha256}


def ensure_tokenizer(ctx: RunContext) -> LoadedTokenizer:
    """Load the configured tokenizer, training it first (once; resumable) when none is given."""
    cfg = ctx.cfg.tokenizer or TokenizerConfig()
    path = tokenizer_path(ctx)
    if not cfg.path:
        inputs = [(f, p) for s in ctx.cfg.sources for f, p in ctx.selected_inputs(s.name)]
        files = [str(p) for _, p in inputs]
        train_cfg = cfg.model_dump(mode="json", exclude={"val_fraction", "verify_fraction", "batch_docs", "engine"})
        fp = digest("tokenizer", train_cfg, ctx.seed, [[f.key, _kept(ctx, f)] for f, _ in inputs])  # never the run dir's own path
        res = ctx.executor.map("tokenizer", [Task("train", _train_task, dict(files=files, cfg=cfg.model_dump(mode="json"), seed=ctx.seed, out=str(path)),
                                                  fingerprint=fp)], desc="train tokenizer")[0]
        if not path.exists():
            raise CurateError("the tokenizer-training marker exists but the tokenizer file is gone", where=str(path),
                              fix=f"delete {ctx.run_dir / '_markers' / 'tokenizer'} and rerun")
        log.info("tokenizer %s: %s docs / %s bytes sampled", path, res["sample_docs"], res["sample_bytes"])
    return load_tokenizer(path, cfg.eos)


def tokenize_file(*, parquet: str, part: str, tokenizer: str, sha256: str, eos: str, engine: str, seed: int,
                  val_fraction: float, verify_fraction: float, batch_docs: int, threads: int) -> dict:
    """One selected file -> `part.{bin,idx}` (train) and `part.val.{bin,idx}` (held-out)."""
    tok = cached_tokenizer(tokenizer, eos, sha256)
    enc = tok.encoder(engine)
    try:
        return _tokenize_file(parquet, part, tok, enc, seed, val_fraction, verify_fraction, batch_docs, threads)
    except IdMismatch as exc:
        # The fast path is only an accelerator: redo the whole file with the reference engine.
        enc.disable_fast(f"{parquet}: {exc}")
        log.warning("fast engine disagreed with tokenizers on %s (%s); re-encoding that file with tokenizers", parquet, exc)
        return _tokenize_file(parquet, part, tok, enc, seed, val_fraction, verify_fraction, batch_docs, threads)


def _tokenize_file(parquet, part, tok, enc, seed, val_fraction, verify_fraction, batch_docs, threads) -> dict:
    stats = {"docs": 0, "tokens": 0, "bytes": 0, "val_docs": 0, "val_tokens": 0, "verified_docs": 0}
    train_w = MegatronWriter(part, tok.dtype)
    val_w = MegatronWriter(part + ".val", tok.dtype)
    try:
        for batch in pq.ParquetFile(parquet).iter_batches(batch_size=batch_docs, columns=["id", "text", "source", "file", "line"]):
            keys = doc_keys(pa.Table.from_batches([batch]))
            texts = batch.column("text").to_pylist()
            out = enc.encode(texts, threads)
            n_check = int(np.ceil(len(texts) * verify_fraction))
            which = np.unique(np.linspace(0, len(texts) - 1, n_check).round().astype(np.int64)) if n_check and texts else np.zeros(0, np.int64)
            enc.check(texts, out, which)
            stats["verified_docs"] += int(which.size) if enc.engine == "tiktoken" else 0
            flat, lengths = flatten(out, tok.eos_id, tok.dtype)
            is_val = unit_hash(keys, seed, "heldout") < val_fraction
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else lengths
            for w, mask in ((train_w, ~is_val), (val_w, is_val)):
                if mask.all():
                    w.add_many(flat, lengths)
                elif mask.any():
                    sel_len = lengths[mask]
                    pos = np.repeat(starts[mask] - np.concatenate([[0], np.cumsum(sel_len)[:-1]]), sel_len) + np.arange(int(sel_len.sum()))
                    w.add_many(flat[pos], sel_len)
            stats["docs"] += len(texts)
            stats["tokens"] += int(lengths.sum())
            stats["bytes"] += int(pc.sum(pc.binary_length(batch.column("text"))).as_py() or 0)
            stats["val_docs"] += int(is_val.sum())
            stats["val_tokens"] += int(lengths[is_val].sum())
        train_w.finalize()
        val_w.finalize()
    except BaseException:
        train_w.abort()
        val_w.abort()
        raise
    stats["engine"] = enc.engine
    stats["fallback_reason"] = enc.reason
    return stats


def _merge_task(parts: list[str], out: str, heldout: str, dtype: str) -> dict:
    """Concatenate a source's parts in file order; a source with no kept documents gets empty files."""
    if parts:
        train = concat_datasets(parts, out)
        val = concat_datasets([p + ".val" for p in parts], heldout)
    else:
        train, val = MegatronWriter(out, np.dtype(dtype)).finalize(), MegatronWriter(heldout, np.dtype(dtype)).finalize()
    return {"tokens": train["tokens"], "documents": train["documents"], "sha256": train["sha256"],
            "val_tokens": val["tokens"], "val_documents": val["documents"], "val_sha256": val["sha256"]}


def _kept(ctx: RunContext, f) -> str | None:
    """What the select task of input `f` kept (its marker's digest of reading + kept rows)."""
    return (read_marker(ctx.run_dir, "select", f.key) or {}).get("_kept")


def run(ctx: RunContext) -> dict:
    cfg = ctx.cfg.tokenizer or TokenizerConfig()
    tok = ensure_tokenizer(ctx)
    tok_fp = content_hash(tok.path)
    probe = tok.encoder(cfg.engine)
    if probe.engine != "tiktoken" and cfg.engine == "auto":
        log.warning("tokenize: using `tokenizers` (fast path unavailable: %s)", probe.reason)
    parts_dir = ctx.tokens_dir / "_parts"
    threads = default_threads(ctx.executor.workers)
    tasks, by_source = [], {}
    part_fps: dict[str, list[str]] = {}
    for src in ctx.cfg.sources:
        for inp, f in ctx.selected_inputs(src.name):
            part = parts_dir / inp.key
            by_source.setdefault(src.name, []).append(str(part))
            fp = digest("tokenize", tok_fp, tok.eos, cfg.engine, cfg.val_fraction, cfg.verify_fraction, ctx.seed, _kept(ctx, inp))
            part_fps.setdefault(src.name, []).append(fp)
            tasks.append(Task(id=inp.key, fn=tokenize_file, weight=f.stat().st_size, fingerprint=fp, kwargs=dict(
                parquet=str(f), part=str(part), tokenizer=str(tok.path), sha256=tok.sha256, eos=tok.eos, engine=cfg.engine,
                seed=ctx.seed, val_fraction=cfg.val_fraction, verify_fraction=cfg.verify_fraction, batch_docs=cfg.batch_docs,
                threads=threads)))
    # parts are deleted once merged: a source whose merge must be redone needs every part again
    names = [s.name for s in ctx.cfg.sources]
    merge_fps = {name: digest("merge", part_fps.get(name, [])) for name in names}
    for t in tasks:
        name = t.id.split("/", 1)[0]
        if marker_fingerprint(ctx.run_dir, STAGE + "-merge", name) != merge_fps[name] and not Path(t.kwargs["part"] + ".idx").exists():
            marker_path(ctx.run_dir, STAGE, t.id).unlink(missing_ok=True)
    results = ctx.executor.map(STAGE, tasks, desc="tokenize", unit="file")
    for src in ctx.cfg.sources:
        if src.name not in by_source:
            log.warning("tokenize: source %s has no selected documents; its token files are empty", src.name)
    merged = ctx.executor.map(STAGE + "-merge", [Task(id=name, fn=_merge_task, fingerprint=merge_fps[name], kwargs=dict(
        parts=by_source.get(name, []), out=str(token_prefix(ctx.tokens_dir, name, ctx.source(name).role)),
        heldout=str(token_prefix(ctx.tokens_dir, name, ctx.source(name).role, "heldout")), dtype=tok.dtype.str)) for name in names],
        desc="merge tokens")
    shutil.rmtree(parts_dir, ignore_errors=True)  # every source's merge marker is written by now
    write_json(ctx.tokens_dir / "tokenizer_info.json", tok.info(ctx.run_dir))  # lets a re-mix check it has the right tokenizer

    zero = {"docs": 0, "tokens": 0, "bytes": 0, "val_docs": 0, "val_tokens": 0, "verified_docs": 0}
    sources: dict[str, dict] = {name: dict(zero) for name in names}
    engines: dict[str, int] = {}
    reasons: list[str] = []
    for t, r in zip(tasks, results):
        s = sources[t.id.split("/", 1)[0]]
        for k in zero:
            s[k] += r[k]
        engines[r["engine"]] = engines.get(r["engine"], 0) + 1
        if r["fallback_reason"] and r["fallback_reason"] not in reasons:
            reasons.append(r["fallback_reason"])
    for name, m in zip(names, merged):
        sources[name]["train_sha256"] = m["sha256"]
    total = {k: sum(s[k] for s in sources.values()) for k in zero}
    return {"sources": sources, "total": total, "tokenizer": tok.info(ctx.run_dir), "engine_files": engines, "fallback_reasons": reasons}
