"""Dedup stage: exact + MinHash near-duplicate removal across every source, in bounded memory.

Reads only `dedup_hash`/`minhash` (pass 1) and id/source/role/length of clustered documents
(pass 3) from the annotated Parquet; writes `RUN/dedup/drops.parquet` (id, source, cluster,
cluster_source, reason) that the select stage applies, and `RUN/dedup/clusters.json`.
The three passes are described in `curate/dedup/engine.py` and docs/dedup.md. Each pass's tasks write
completion markers, so a rerun resumes; outputs depend on the seed and config, never on workers.
"""

from __future__ import annotations

import os
import shutil
from functools import partial

import pyarrow as pa
import pyarrow.parquet as pq

from curate import stats
from curate.context import RunContext
from curate.dedup.config import DedupConfig, candidate_probability
from curate.dedup.clusters import cluster_partitions, cluster_roots, gather_members, keep_partition, merge_drops
from curate.dedup.engine import bucket_file, num_partitions, pair_partition
from curate.errors import CurateError
from curate.exec.base import Task, marker_path, pack_tasks, read_marker
from curate.fingerprint import digest
from curate.stages.base import Stage
from curate.signals.minhash import HASH_COLUMN, MINHASH_COLUMN, DedupKeysConfig, MinHashSignal

STAGE_KEYS, STAGE_PAIRS, STAGE_CLUSTERS = "dedup_keys", "dedup_pairs", "dedup_clusters"
STAGE_ROOTS, STAGE_MEMBERS, STAGE_KEEP = "dedup_roots", "dedup_members", "dedup_keep"
LENGTH_COLUMNS = ("char_count",)  # preferred stored length; otherwise the text's length is computed
PACK_FILES = 256  # annotated files per pack of pass-1 tasks at most (its tasks weigh 1 each)


def _check_inputs(ctx: RunContext, cfg: DedupConfig, files: list) -> tuple[list[dict], int, str | None, dict[str, int]]:
    """Every annotated file must hold the dedup columns; returns (files, num_perm, length column, docs per source)."""
    need = ([HASH_COLUMN] if cfg.exact else []) + ([MINHASH_COLUMN] if cfg.near else [])
    out, widths, docs = [], set(), {}
    have_length = True
    for ordinal, (f, path) in enumerate(files):
        meta = pq.read_metadata(path)
        docs[f.source.name] = docs.get(f.source.name, 0) + meta.num_rows
        if meta.num_rows == 0:
            continue
        schema = meta.schema.to_arrow_schema()
        missing = [c for c in need if c not in schema.names]
        if missing:
            raise CurateError(
                f"annotated file has no column(s) {missing} that dedup needs",
                where=str(path),
                fix="add `dedup_keys: {}` under `annotate:` in the pipeline YAML and rerun annotate (or turn off dedup.exact/near)",
            )
        if cfg.near:
            typ = schema.field(MINHASH_COLUMN).type
            if not pa.types.is_fixed_size_list(typ):
                raise CurateError(f"column `minhash` has type {typ}, expected fixed_size_list<uint32>", where=str(path),
                                  fix="re-annotate with curate.signals.minhash")
            widths.add(typ.list_size)
        have_length &= all(c in schema.names for c in LENGTH_COLUMNS)
        out.append({"ordinal": ordinal, "path": str(path), "source": f.source.name, "key": f.key})
    if len(widths) > 1:
        raise CurateError(f"annotated files disagree on the MinHash length: {sorted(widths)}", where=str(ctx.layout.annotated_dir),
                          fix="re-annotate every file with one annotate.dedup_keys.num_perm")
    num_perm = widths.pop() if widths else (ctx.cfg.annotate.dedup_keys or DedupKeysConfig()).num_perm
    return out, num_perm, (LENGTH_COLUMNS[0] if have_length else None), docs


class DedupStage(Stage):
    """Exact and near-duplicate clusters across every source; writes dedup/drops.parquet for select."""

    def run(self) -> dict:
        ctx = self.ctx
        cfg = ctx.cfg.dedup or DedupConfig()
        annotated = ctx.annotated_files()
        if not annotated:
            raise CurateError("no annotated files to deduplicate", where=str(ctx.layout.annotated_dir),
                              fix="run the annotate stage first (list `annotate` before `dedup` in `stages:`)")
        files, num_perm, length_column, docs_by_source = _check_inputs(ctx, cfg, annotated)
        bands, rows = cfg.banding(num_perm)
        if cfg.near and bands * rows > num_perm:
            raise CurateError(f"dedup.bands * dedup.rows = {bands * rows} exceeds the signature length {num_perm}", where="dedup",
                              fix=f"choose bands*rows <= {num_perm} (e.g. bands: {num_perm // 8}, rows: 8), or raise annotate.dedup_keys.num_perm")
        docs_in = sum(docs_by_source.values())
        parts = num_partitions(cfg, docs_in, bands if cfg.near else 0)
        fp = dedup_fingerprint(ctx, cfg, annotated)
        work = ctx.layout.dedup_work(parts, fp)
        for old in ctx.layout.dedup_dir.glob("work-*"):  # left by a run under another config or input set
            if old != work and old.is_dir():
                shutil.rmtree(old)
        keys_cfg = ctx.cfg.annotate.dedup_keys or DedupKeysConfig()
        empty_hash = MinHashSignal(keys_cfg, ctx.signal_context()).empty_hash()

        # pass 1: band keys and exact hashes -> partitions on disk (one task per annotated file)
        key_tasks = [
            Task(id=f"{f['ordinal']:05d}-p{parts:04d}", fn=bucket_file, weight=max(os.path.getsize(f["path"]), 2), kwargs=dict(
                path=f["path"], ordinal=f["ordinal"], buckets=str(work / "buckets"), sigs=str(work / "sigs"), partitions=parts,
                bands=bands, rows=rows, exact=cfg.exact, near=cfg.near, seed=ctx.seed, empty_hash=empty_hash), fingerprint=fp)
            for f in files]
        # pass 2: candidate pairs per partition, verified by signature agreement
        edges = [str(work / "edges" / f"part-{p:04d}.parquet") for p in range(parts)]
        pair_tasks = [
            Task(id=f"part-{p:04d}-of-{parts:04d}", fn=pair_partition, kwargs=dict(
                part_dir=str(work / "buckets" / f"part-{p:04d}"), sigs=str(work / "sigs"), out=edges[p], accept=cfg.accept_threshold(num_perm)),
                fingerprint=fp, isolate=True)
            for p in range(parts)]
        roots_id = f"roots-by-group-p{parts:04d}"  # (its output is one file pair per group; older versions wrote one pair)
        if read_marker(ctx.run_dir, STAGE_ROOTS, roots_id) is None and not work.is_dir():
            # passes 1-2 may have finished in an earlier run whose work folder is gone (e.g. a run directory
            # of a version whose pass 3 had other task ids): do them again rather than cluster no edges
            for stage_name, tasks in ((STAGE_KEYS, key_tasks), (STAGE_PAIRS, pair_tasks)):
                for t in tasks:
                    marker_path(ctx.run_dir, stage_name, t.id).unlink(missing_ok=True)
        keys = ctx.executor.map(STAGE_KEYS, key_tasks, desc="dedup: band keys",
                                pack=partial(pack_tasks, workers=ctx.executor.workers, max_weight=PACK_FILES))
        pairs = ctx.executor.map(STAGE_PAIRS, pair_tasks, desc="dedup: candidate pairs")
        # pass 3: clusters (integer union-find), members gathered per file into cluster partitions,
        # the keep policy per partition, one merge into drops.parquet (see curate/dedup/clusters.py)
        with_hash = cfg.exact or _all_have_hash(files)
        (roots,) = ctx.executor.map(STAGE_ROOTS, [
            Task(id=roots_id, fn=cluster_roots, kwargs=dict(edges=edges, out=str(work / "roots"), local=not cfg.near), fingerprint=fp,
                 isolate=True)], desc="dedup: union-find")
        cparts = cluster_partitions(cfg, roots["nodes"])
        members = work / f"members-q{cparts:04d}"
        ctx.executor.map(STAGE_MEMBERS, [
            Task(id=f"{f['ordinal']:05d}-q{cparts:04d}", fn=gather_members, weight=max(os.path.getsize(f["path"]), 2), kwargs=dict(
                path=f["path"], ordinal=f["ordinal"], key=f["key"], roots=str(work / "roots"), groups=roots["groups"], members=str(members),
                partitions=cparts, length_column=length_column, with_hash=with_hash), fingerprint=fp)
            for f in files], desc="dedup: cluster members", pack=partial(pack_tasks, workers=ctx.executor.workers, max_weight=PACK_FILES))
        runs = [(str(members / f"by-id-{q:04d}.parquet"), str(members / f"by-file-{q:04d}.parquet")) for q in range(cparts)]
        kept = ctx.executor.map(STAGE_KEEP, [
            Task(id=f"part-{q:04d}-of-{cparts:04d}", fn=keep_partition, kwargs=dict(
                part_dir=str(members / f"part-{q:04d}"), by_id=runs[q][0], by_file=runs[q][1], prefer_roles=list(cfg.prefer_roles),
                with_hash=with_hash), fingerprint=fp, isolate=True)
            for q in range(cparts)], desc="dedup: keep policy")
        (clusters,) = ctx.executor.map(STAGE_CLUSTERS, [
            Task(id=f"clusters-p{parts:04d}-q{cparts:04d}", fn=merge_drops, kwargs=dict(
                by_id=[r[0] for r in runs], by_file=[r[1] for r in runs], drops=str(ctx.layout.drops),
                index=str(ctx.layout.drops_by_file), clusters=str(ctx.layout.clusters), parts=kept), fingerprint=fp, isolate=True)],
            desc="dedup: merge drops")
        if not cfg.keep_intermediate:
            shutil.rmtree(work, ignore_errors=True)

        drops_by_source = clusters["drops_by_source"]
        per_source = [stats.row(src, docs_in=n, docs_out=n - sum(drops_by_source.get(src, {}).values()), drops=drops_by_source.get(src, {}))
                for src, n in docs_by_source.items()]
        details = {
            "empty_docs_skipped": sum(k["empty"] for k in keys),
            "exact_duplicates": clusters["exact_duplicates"],
            "near_duplicates": clusters["near_duplicates"],
            "clusters": clusters["clusters"],
            "docs_in_clusters": clusters["docs_in_clusters"],
            "candidate_pairs": sum(p["candidate_pairs"] for p in pairs),
            "verified_pairs": sum(p["verified_pairs"] for p in pairs),
            "partitions": parts,
            "bands": bands if cfg.near else 0,
            "rows": rows if cfg.near else 0,
            "threshold": cfg.threshold,
            "accept_estimate": round(cfg.accept_threshold(num_perm), 4),
            "p_candidate_at_accept": round(candidate_probability(cfg.accept_threshold(num_perm), bands, rows), 4) if cfg.near else 0.0,
        }
        return stats.stage_stats(per_source, sources=[s.name for s in ctx.cfg.sources], total_extra=details,
                                 cluster_sizes=clusters["cluster_sizes"])


def dedup_fingerprint(ctx: RunContext, cfg: DedupConfig, annotated: list) -> str:
    """The dedup config and, per annotated file, its reading and the signals that made the columns
    dedup reads (dedup keys, stored length): adding an unrelated signal does not redo dedup."""
    used = {HASH_COLUMN, MINHASH_COLUMN, *LENGTH_COLUMNS}
    per_file = []
    for f, _path in annotated:
        m = read_marker(ctx.run_dir, "annotate", f.key) or {}
        sigs = {sid: s["fingerprint"] for sid, s in (m.get("_signals") or {}).items() if used & set(s.get("columns", []))}
        per_file.append([f.key, m.get("_reader"), sigs])
    return digest("dedup", cfg.model_dump(mode="json"), ctx.seed, per_file)


def _all_have_hash(files: list[dict]) -> bool:
    return all(HASH_COLUMN in pq.read_schema(f["path"]).names for f in files)
