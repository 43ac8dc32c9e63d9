"""Tokenize stage: each source's selected documents, once, into `tokens/<source>/<role>/train.{bin,idx}`
plus a held-out split `tokens/<source>/<role>/heldout.{bin,idx}` (paths from RunLayout).

Why once per source: mixing (and every ablation's re-mix) only gathers documents from these files,
so changing a ratio never re-tokenizes. Work is one task per selected file (parallel, resumable),
each writing a part; parts are concatenated per source in file order, so the result is the same
for any worker count or executor. A document goes to the held-out split iff a hash of
(seed, id) falls below `val_fraction`: stable across reruns and re-partitioning.
"""

from __future__ import annotations

import logging
import os
import shutil
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import stats
from curate.context import RunContext
from curate.errors import CurateError
from curate.exec.base import Task, marker_fingerprint, marker_path, pack_tasks, read_marker
from curate.fingerprint import content_hash, digest
from curate.stages.base import Stage
from curate.io.atomic import write_json
from curate.shards.megatron import MegatronWriter, concat_datasets
from curate.sampling import doc_keys, unit_hash
from curate.tokenize.config import TokenizerConfig
from curate.io.parquet_stream import open_parquet_stream
from curate.tokenize.tokenizer import (IdMismatch, LoadedTokenizer, cached_tokenizer, flatten,
                                     load_tokenizer, sample_texts, threads_per_worker, train_tokenizer)

PACK_BYTES = 4e6  # selected bytes per pack of small files' tasks at most

STAGE = "tokenize"
log = logging.getLogger("curate.tokenize")


def tokenizer_path(ctx: RunContext) -> Path:
    """Where this run's tokenizer.json is: the configured one, or the trained one."""
    return (ctx.cfg.tokenizer or TokenizerConfig()).tokenizer_file(ctx.root, ctx.layout.tokenizer)


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
                              fix=f"delete {ctx.layout.markers_dir / 'tokenizer'} and rerun")
        log.info("tokenizer %s: %s docs / %s bytes sampled", path, res["sample_docs"], res["sample_bytes"])
    return load_tokenizer(path, cfg.eos)


def tokenize_file(*, parquet: str, part: str, tokenizer: str, sha256: str, eos: str, engine: str, seed: int,
                  val_fraction: float, verify_fraction: float, batch_docs: int, threads: int, role: str | None = None) -> dict:
    """One selected file (its documents of `role` when given: a routed source) -> `part.{bin,idx}`
    (train) and `part.val.{bin,idx}` (held-out)."""
    tok = cached_tokenizer(tokenizer, eos, sha256)
    enc = tok.encoder(engine)
    try:
        return _tokenize_file(parquet, part, tok, enc, seed, val_fraction, verify_fraction, batch_docs, threads, role)
    except IdMismatch as exc:
        # The fast path is only an accelerator: redo the whole file with the reference engine.
        enc.disable_fast(f"{parquet}: {exc}")
        log.warning("fast engine disagreed with tokenizers on %s (%s); re-encoding that file with tokenizers", parquet, exc)
        return _tokenize_file(parquet, part, tok, enc, seed, val_fraction, verify_fraction, batch_docs, threads, role)


def _batches(parquet: str, batch_docs: int, role: str | None):
    cols = ["id", "text", "source", "file", "line"] + (["role"] if role is not None else [])
    for batch in open_parquet_stream(parquet).iter_batches(batch_size=batch_docs, columns=cols):
        if role is not None:
            batch = batch.filter(pc.equal(batch.column("role"), role))
            if batch.num_rows == 0:
                continue
        yield batch


def _tokenize_file(parquet, part, tok, enc, seed, val_fraction, verify_fraction, batch_docs, threads, role=None) -> dict:
    stats = {"docs": 0, "tokens": 0, "bytes": 0, "val_docs": 0, "val_tokens": 0, "verified_docs": 0}
    train_w = MegatronWriter(part, tok.dtype)
    val_w = MegatronWriter(part + ".val", tok.dtype)
    try:
        for batch in _batches(parquet, batch_docs, role):
            keys = doc_keys(pa.Table.from_batches([batch]))  # the held-out split's key: (source, file, line)
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


def _merge_task(parts: list[str], train: str, heldout: str, dtype: str) -> dict:
    """Concatenate a source's parts in file order; a source with no kept documents gets empty files."""
    out = train
    if parts:
        train = concat_datasets(parts, out)
        val = concat_datasets([p + ".val" for p in parts], heldout)
    else:
        train, val = MegatronWriter(out, np.dtype(dtype)).finalize(), MegatronWriter(heldout, np.dtype(dtype)).finalize()
    return {"tokens": train["tokens"], "documents": train["documents"], "sha256": train["sha256"],
            "val_tokens": val["tokens"], "val_documents": val["documents"], "val_sha256": val["sha256"]}


def _parts_bytes(parts: list[str]) -> int:
    """Bytes a merge task copies (its weight: a small merge runs in the driver, not in a pool started for it)."""
    return 2 + sum(os.path.getsize(p) for part in parts for p in (part + ".bin", part + ".val.bin") if os.path.exists(p))


def _kept(ctx: RunContext, f) -> str | None:
    """What the select task of input `f` kept (its marker's digest of reading + kept rows)."""
    return (read_marker(ctx.run_dir, "select", f.key) or {}).get("_kept")


class TokenizeStage(Stage):
    """Selected documents -> per-(source, role) token files, train and held-out, once per run."""

    def run(self) -> dict:
        ctx = self.ctx
        cfg = ctx.cfg.tokenizer or TokenizerConfig()
        tok = ensure_tokenizer(ctx)
        tok_fp = content_hash(tok.path)
        if cfg.engine == "tiktoken":
            tok.encoder(cfg.engine)  # a tokenizer the fast engine cannot reproduce fails here, before any task
        parts_dir = ctx.layout.token_parts
        threads = threads_per_worker(ctx.executor.workers)
        # one task per (selected file, role): a routed source's documents go to one token stream per role
        tasks, meta, by_stream = [], [], {}
        streams = [(src, role) for src in ctx.cfg.sources for role in src.roles]
        part_fps: dict[tuple, list[str]] = {}
        for src in ctx.cfg.sources:
            for inp, f in ctx.selected_inputs(src.name):
                stem = inp.key.split("/", 1)[1]
                for role in src.roles:
                    part = parts_dir / src.name / role / stem if src.routes else parts_dir / src.name / stem
                    by_stream.setdefault((src.name, role), []).append(str(part))
                    meta.append((src.name, role))
                    tid = f"{src.name}/{role}/{stem}" if src.routes else f"{src.name}/{stem}"
                    fp = digest("tokenize", tok_fp, tok.eos, cfg.engine, cfg.val_fraction, cfg.verify_fraction, ctx.seed, role,
                                _kept(ctx, inp))
                    part_fps.setdefault((src.name, role), []).append(fp)
                    tasks.append(Task(id=tid, fn=tokenize_file, weight=f.stat().st_size, fingerprint=fp, kwargs=dict(
                        parquet=str(f), part=str(part), tokenizer=str(tok.path), sha256=tok.sha256, eos=tok.eos, engine=cfg.engine,
                        seed=ctx.seed, val_fraction=cfg.val_fraction, verify_fraction=cfg.verify_fraction, batch_docs=cfg.batch_docs,
                        threads=threads, role=role if src.routes else None)))
        # parts are deleted once merged: a stream whose merge must be redone needs every part again
        merge_id = {(src.name, role): (src.stream(role) if src.routes else src.name) for src, role in streams}
        merge_fps = {k: digest("merge", k, part_fps.get(k, [])) for k in merge_id}
        for t, k in zip(tasks, meta):
            if marker_fingerprint(ctx.run_dir, STAGE + "-merge", merge_id[k]) != merge_fps[k] and not Path(t.kwargs["part"] + ".idx").exists():
                marker_path(ctx.run_dir, STAGE, t.id).unlink(missing_ok=True)
        # small selected files are tokenized in packs (one worker call each); parts and markers stay per file
        results = ctx.executor.map(STAGE, tasks, desc="tokenize", pack=partial(pack_tasks, workers=ctx.executor.workers, max_weight=PACK_BYTES))
        for src, role in streams:
            if (src.name, role) not in by_stream:
                log.warning("tokenize: source %s (role %s) has no selected documents; its token files are empty", src.name, role)
        names = [s.name for s in ctx.cfg.sources]
        merged = ctx.executor.map(STAGE + "-merge", [Task(id=merge_id[(src.name, role)], fn=_merge_task, fingerprint=merge_fps[(src.name, role)],
            weight=_parts_bytes(by_stream.get((src.name, role), [])), kwargs=dict(
            parts=by_stream.get((src.name, role), []), train=str(ctx.layout.tokens(src.name, role, "train")),
            heldout=str(ctx.layout.tokens(src.name, role, "heldout")), dtype=tok.dtype.str)) for src, role in streams],
            desc="merge tokens")
        shutil.rmtree(parts_dir, ignore_errors=True)  # every source's merge marker is written by now
        write_json(ctx.layout.tokenizer_info, tok.info(ctx.run_dir))  # lets a re-mix check it has the right tokenizer

        engines: dict[str, int] = {}
        reasons: list[str] = []
        rows = []
        for t, (source, role), r in zip(tasks, meta, results):
            rows.append(stats.row(source, t.id, docs_in=r["docs"], docs_out=r["docs"], bytes=r["bytes"], tokens=r["tokens"],
                                  heldout_docs=r["val_docs"], heldout_tokens=r["val_tokens"], verified_docs=r["verified_docs"],
                                  roles={role: r["docs"]}, role_tokens={role: r["tokens"]}))
            engines[r["engine"]] = engines.get(r["engine"], 0) + 1
            if r["fallback_reason"] and r["fallback_reason"] not in reasons:
                reasons.append(r["fallback_reason"])
        if reasons and cfg.engine == "auto":  # each worker converts the tokenizer itself (once per process)
            log.warning("tokenize: %d of %d files encoded with `tokenizers` (fast path unavailable: %s)",
                        engines.get("tokenizers", 0), len(results), "; ".join(reasons))
        out = stats.stage_stats(rows, sources=names, tokenizer=tok.info(ctx.run_dir), engine_files=engines, fallback_reasons=reasons)
        for (src, role), m in zip(streams, merged):
            if src.routes:
                out["sources"][src.name].setdefault("train_sha256_by_role", {})[role] = m["sha256"]
            else:
                out["sources"][src.name]["train_sha256"] = m["sha256"]
        return out
