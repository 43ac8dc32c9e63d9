"""Pass 3 of dedup: clusters and the keep policy, in bounded memory and in worker processes.

3a `cluster_roots` (one task): union-find over every verified edge on integer arrays only (the
    edges, the sorted clustered documents `nodes` and their roots: 8-16 bytes per node, no string);
    writes `roots/nodes-GGGG.npy` and `roots/roots-GGGG.npy` (the root of each node, as a document
    key) per group of edges solved together: one group per pass-2 partition for exact dedup alone
    (so one partition's arrays are in memory at a time), one group of every edge with near dedup.
3b `gather_members` (one task per annotated file, parallel): the file's clustered rows (a slice of
    `nodes`) are read once with id/source/role/length/hash and written to cluster partition
    `mix(root) % Q` under `members/part-QQQQ/`, so each cluster lies whole in one partition.
3c `keep_partition` (one task per cluster partition, parallel): the keep policy over that
    partition's clusters; its drops are written twice as sorted runs: by (source, id, file, row),
    the order of `drops.parquet`, and by (file, row), the order of the per-file index.
3d `merge_drops` (one task): a k-way merge of the runs writes `drops.parquet` exactly as one sort
    of all drops would (same order, row groups of `DROPS_ROW_GROUP` rows), the per-file index
    `drops_by_file.parquet` (small row groups, so that a reader of one file's drops reads only the
    row groups whose `file` range holds it) and `clusters.json` (the partitions' statistics added up).

Q comes from `num_partitions` or from `max_memory_mb` and the number of clustered documents; the
outputs do not depend on Q (tests check this against one in-memory sort).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.dedup.config import DedupConfig
from curate.errors import CurateError
from curate.io.atomic import atomic_path, write_json
from curate.signals.minhash import HASH_COLUMN, splitmix64
from curate.io.parquet_stream import open_parquet_stream

EXACT = "exact_duplicate"
NEAR = "near_duplicate"
MEMBER_ROW_BYTES = 700  # memory one clustered document costs in 3c (its strings, sort order, copies; ~670 B measured)
KEEP_TARGET_MB = 64  # memory of one keep-policy task at most, whatever the budget (Q shows in no output)
DROPS_ROW_GROUP = 131_072  # rows per row group of drops.parquet: what the merge holds of it at once (~50 MB), whatever the drops
INDEX_ROW_GROUP = 16_384  # rows per row group of drops_by_file.parquet: the unit a per-file reader reads
RUN_ROW_GROUP = 4_096  # rows per row group of a keep task's sorted runs: a merge reader decodes one group at a time
MERGE_ROWS = 32_768  # rows the merge holds from all runs together (each run gets a share; 131,072 held ~45 MB more at 2.4 M drops)
_BATCH = 65_536
EDGE_SCHEMA = pa.schema([("a", pa.uint64()), ("b", pa.uint64())])
DROPS_SCHEMA = pa.schema([("id", pa.string()), ("source", pa.string()), ("cluster", pa.string()),
                          ("cluster_source", pa.string()), ("reason", pa.string()), ("file", pa.string()), ("row", pa.int64())])
INDEX_SCHEMA = pa.schema([("file", pa.string()), ("row", pa.int64()), ("reason", pa.string())])
MEMBER_SCHEMA = pa.schema([("doc", pa.uint64()), ("root", pa.uint64()), ("id", pa.string()), ("source", pa.string()),
                           ("role", pa.string()), ("length", pa.int64()), ("hash", pa.uint64()), ("file", pa.string()),
                           ("row", pa.int64())])
BY_ID = [("source", "ascending"), ("id", "ascending"), ("file", "ascending"), ("row", "ascending")]
BY_FILE = [("file", "ascending"), ("row", "ascending")]


def cluster_partitions(cfg: DedupConfig, nodes: int) -> int:
    """Cluster partitions so that one partition's documents fit `max_memory_mb`, and at most
    `KEEP_TARGET_MB` (or as configured): Q shows in no output, so it can be smaller than the budget."""
    if cfg.num_partitions:
        return cfg.num_partitions
    return max(1, min(9999, math.ceil(nodes * MEMBER_ROW_BYTES / (min(cfg.max_memory_mb, KEEP_TARGET_MB) * 2**20))))


def union_find(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Root of every node 0..n-1 given edges (a[i], b[i]): the smallest node of its component.

    Vectorized: each round hooks the larger root of every unmerged edge under the smaller one
    (`minimum.at`), then compresses paths by pointer jumping until every node points at a root.
    """
    parent = np.arange(n, dtype=a.dtype if a.dtype in (np.int32, np.int64) else np.int64)
    while True:
        ra, rb = parent[a], parent[b]
        diff = ra != rb
        if not diff.any():
            return parent
        np.minimum.at(parent, np.maximum(ra[diff], rb[diff]), np.minimum(ra[diff], rb[diff]))
        while True:
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt


# ---------------------------------------------------------------------------------------------
# 3a


def cluster_roots(*, edges: list[str], out: str, local: bool = False) -> dict:
    """Union-find over the edge files; writes, per group of edge files solved together, the sorted
    document keys `nodes-GGGG.npy` and the root of each `roots-GGGG.npy`. `local` (exact duplicates
    only): no component spans two pass-2 partitions (a document's one hash puts it in one), so each
    edge file is its own group and only one partition's arrays are in memory at a time; otherwise one
    group holds every edge. The groups' node sets are disjoint."""
    gone = [p for p in edges if not Path(p).exists()]
    if gone:
        raise CurateError(f"{len(gone)} edge files of dedup pass 2 are missing", where=gone[0],
                          fix="delete RUN/dedup and RUN/_markers/dedup_*, then rerun")
    groups = [[p] for p in edges] if local else [edges]
    total = 0
    for g, group in enumerate(groups):
        nodes, root = _roots(group)
        total += int(nodes.size)
        for name, arr in ((f"nodes-{g:04d}.npy", nodes), (f"roots-{g:04d}.npy", root)):
            with atomic_path(Path(out) / name) as tmp, open(tmp, "wb") as fh:
                np.save(fh, arr)
        del nodes, root
    return {"nodes": total, "groups": len(groups)}


def clustered_rows(roots: str, groups: int, ordinal: int) -> tuple[np.ndarray, np.ndarray]:
    """(document keys, roots) of annotated file `ordinal`'s clustered rows, ascending: its key range
    looked up in every group's sorted nodes (memory-mapped), the pieces put in order."""
    lo_key, hi_key = np.uint64(ordinal) << np.uint64(32), np.uint64(ordinal + 1) << np.uint64(32)
    want, root = [], []
    for g in range(groups):
        nodes = np.load(Path(roots) / f"nodes-{g:04d}.npy", mmap_mode="r")
        lo, hi = int(np.searchsorted(nodes, lo_key)), int(np.searchsorted(nodes, hi_key))
        if hi > lo:
            want.append(np.array(nodes[lo:hi], dtype=np.uint64))
            root.append(np.array(np.load(Path(roots) / f"roots-{g:04d}.npy", mmap_mode="r")[lo:hi], dtype=np.uint64))
        del nodes
    if not want:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    w, r = np.concatenate(want), np.concatenate(root)
    order = np.argsort(w, kind="stable")
    return w[order], r[order]


def _roots(edges: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted nodes, the root of each) of the components these edge files make."""
    tabs = [pq.read_table(p, schema=EDGE_SCHEMA) for p in edges]
    a = np.concatenate([t.column("a").to_numpy() for t in tabs]) if tabs else np.zeros(0, np.uint64)
    b = np.concatenate([t.column("b").to_numpy() for t in tabs]) if tabs else np.zeros(0, np.uint64)
    del tabs
    nodes = np.unique(np.concatenate((a, b)))
    small = np.int32 if nodes.size < 2**31 else np.int64  # node indices: 4 bytes each up to 2^31 nodes
    ia = np.searchsorted(nodes, a).astype(small)
    del a
    ib = np.searchsorted(nodes, b).astype(small)
    del b
    return nodes, nodes[union_find(ia, ib, nodes.size)]


# ---------------------------------------------------------------------------------------------
# 3b


def _partition_of(root: np.ndarray, partitions: int) -> np.ndarray:
    return (splitmix64(root) % np.uint64(partitions)).astype(np.int64)


def gather_members(*, path: str, ordinal: int, key: str, roots: str, groups: int, members: str, partitions: int,
                   length_column: str | None, with_hash: bool) -> dict:
    """3b for one annotated file: its clustered rows, with what the keep policy reads, into partitions."""
    want, root = clustered_rows(roots, groups, ordinal)
    rows = (want & np.uint64(0xFFFFFFFF)).astype(np.int64)
    part = _partition_of(root, partitions)
    found = 0
    name = f"{ordinal:05d}.parquet"
    with contextlib.ExitStack() as stack:
        writers: dict[int, pq.ParquetWriter] = {}

        def writer(p: int) -> pq.ParquetWriter:
            if p not in writers:
                tmp = stack.enter_context(atomic_path(Path(members) / f"part-{p:04d}" / name))
                writers[p] = pq.ParquetWriter(tmp, MEMBER_SCHEMA, compression="none")
                stack.callback(writers[p].close)
            return writers[p]

        if want.size:
            cols = ["id", "source", "role"] + ([length_column] if length_column else ["text"]) + ([HASH_COLUMN] if with_hash else [])
            start = 0
            for batch in open_parquet_stream(path).iter_batches(batch_size=_BATCH, columns=cols):
                s, e = np.searchsorted(rows, start), np.searchsorted(rows, start + batch.num_rows)
                if s < e:
                    t = pa.Table.from_batches([batch]).take(pa.array(rows[s:e] - start))
                    length = t.column(length_column) if length_column else pc.utf8_length(t.column("text"))
                    sub = pa.table([want[s:e], root[s:e], t.column("id").cast(pa.string()), t.column("source").cast(pa.string()),
                                    t.column("role").cast(pa.string()), length.cast(pa.int64()),
                                    t.column(HASH_COLUMN).cast(pa.uint64()) if with_hash else pa.nulls(e - s, pa.uint64()),
                                    pa.array([key] * (e - s), pa.string()), pa.array(rows[s:e], pa.int64())], schema=MEMBER_SCHEMA)
                    p = part[s:e]
                    for q in np.unique(p):
                        writer(int(q)).write_table(sub.filter(pa.array(p == q)))
                    found += e - s
                start += batch.num_rows
        if found != want.size:
            raise CurateError(f"{want.size - found} documents indexed by dedup are missing from the annotated file", where=path,
                              fix="the annotated files changed after dedup started: delete RUN/dedup and RUN/_markers/dedup_*, then rerun")
    return {"members": found}


# ---------------------------------------------------------------------------------------------
# 3c


def keep_partition(*, part_dir: str, by_id: str, by_file: str, prefer_roles: list[str], with_hash: bool) -> dict:
    """The keep policy over one partition's clusters (each lies whole in it): sorted runs of its drops + stats."""
    files = sorted(Path(part_dir).glob("*.parquet")) if Path(part_dir).is_dir() else []
    m = pa.concat_tables([pq.read_table(f, schema=MEMBER_SCHEMA) for f in files]) if files else MEMBER_SCHEMA.empty_table()
    role_rank = pc.fill_null(pc.index_in(m.column("role"), value_set=pa.array(prefer_roles, pa.string())), len(prefer_roles))
    m = m.append_column("role_rank", role_rank)
    # the keep policy; `doc` (file ordinal, row) settles ties, as the node order of one global sort would
    order = pc.sort_indices(m, sort_keys=[("root", "ascending"), ("role_rank", "ascending"), ("length", "descending"),
                                          ("id", "ascending"), ("source", "ascending"), ("doc", "ascending")])
    m = m.select(["root", "id", "source", "hash", "file", "row"]).take(order)  # only what the drops need
    cl = m.column("root").to_numpy()
    first = np.ones(cl.size, dtype=bool)
    first[1:] = cl[1:] != cl[:-1]
    head = pa.array(np.maximum.accumulate(np.where(first, np.arange(cl.size), 0)))  # row of each cluster's kept doc
    if with_hash:
        same = pc.equal(m.column("hash"), m.column("hash").take(head)).to_numpy(zero_copy_only=False)
        same = np.asarray(same == True, dtype=bool)  # noqa: E712  (null: not the same)
    else:
        same = np.zeros(cl.size, dtype=bool)
    drop = ~first
    out = pa.table([m.column("id"), m.column("source"), m.column("id").take(head), m.column("source").take(head),
                    pa.array(np.where(same, EXACT, NEAR), pa.string()), m.column("file"), m.column("row")],
                   schema=DROPS_SCHEMA).filter(pa.array(drop))
    del m
    with atomic_path(by_id) as tmp:
        pq.write_table(out.take(pc.sort_indices(out, sort_keys=BY_ID)), tmp, compression="none", row_group_size=RUN_ROW_GROUP)
    with atomic_path(by_file) as tmp:
        idx = out.select(["file", "row", "reason"])
        pq.write_table(idx.take(pc.sort_indices(idx, sort_keys=BY_FILE)), tmp, compression="none", row_group_size=RUN_ROW_GROUP)
    sizes = np.diff(np.append(np.flatnonzero(first), cl.size))
    hist_sizes, hist_counts = np.unique(sizes, return_counts=True)
    by_source: dict[str, dict[str, int]] = {}
    for row in out.group_by(["source", "reason"]).aggregate([("id", "count")]).to_pylist():
        by_source.setdefault(row["source"], {EXACT: 0, NEAR: 0})[row["reason"]] = row["id_count"]
    return {"clusters": int(first.sum()), "docs_in_clusters": int(cl.size), "drops": int(drop.sum()),
            "exact_duplicates": int((drop & same).sum()), "near_duplicates": int((drop & ~same).sum()),
            "cluster_sizes": {str(int(k)): int(v) for k, v in zip(hist_sizes, hist_counts)}, "drops_by_source": by_source}


# ---------------------------------------------------------------------------------------------
# 3d


def merge_runs(runs: list[str], sort_keys: list[tuple[str, str]], schema: pa.Schema, out: str, row_group: int,
               compression: str, budget_rows: int = MERGE_ROWS) -> int:
    """k-way merge of Parquet runs, each sorted by `sort_keys` (unique keys), into one file whose row
    groups hold `row_group` rows (the last fewer): what one sort of all rows written at once gives."""
    runs = [r for r in runs if Path(r).exists()]
    batch = max(1024, budget_rows // max(len(runs), 1))
    readers = {i: open_parquet_stream(r).iter_batches(batch_size=batch) for i, r in enumerate(runs)}
    pool = schema.empty_table().append_column("_run", pa.array([], pa.int32())).append_column("_last", pa.array([], pa.bool_()))
    need = set(readers)
    pending: list[pa.Table] = []
    pending_rows = total = 0
    with atomic_path(out) as tmp, pq.ParquetWriter(tmp, schema, compression=compression) as writer:

        def flush(final: bool) -> None:
            nonlocal pending, pending_rows
            while pending_rows >= row_group or (final and pending_rows):
                t = pa.concat_tables(pending)
                n = min(row_group, t.num_rows)
                # one chunk per column, as a single sort's table has: the writer cuts pages per chunk
                writer.write_table(t.slice(0, n).combine_chunks(), row_group_size=row_group)
                pending, pending_rows = ([t.slice(n)] if t.num_rows > n else []), t.num_rows - n

        while True:
            parts = [pool]
            for i in sorted(need):
                b = next(readers[i], None)
                if b is None:
                    del readers[i]  # exhausted: its rows no longer bound what may be written
                    continue
                last = np.zeros(b.num_rows, dtype=bool)
                last[-1] = True
                parts.append(pa.Table.from_batches([b]).cast(schema).append_column("_run", pa.array(np.full(b.num_rows, i, np.int32)))
                             .append_column("_last", pa.array(last)))
            pool = pa.concat_tables(parts)
            if pool.num_rows == 0 and not readers:
                break
            order = pc.sort_indices(pool, sort_keys=sort_keys)
            # every unread row of a live run sorts after the last row read from it: rows up to the
            # first such "last row" in the pool are final
            run = pool.column("_run").to_numpy()[order]
            bound = np.flatnonzero(pool.column("_last").to_numpy(zero_copy_only=False)[order] & np.isin(run, list(readers)))
            cut = int(bound[0]) + 1 if bound.size else pool.num_rows
            need = {int(run[cut - 1])} if bound.size else set()
            # `take` copies: neither part keeps the other's buffers alive
            emit, pool = pool.take(order.slice(0, cut)), pool.take(order.slice(cut))
            pending.append(emit.select(schema.names))
            pending_rows += emit.num_rows
            total += emit.num_rows
            flush(final=False)
            if not readers and pool.num_rows == 0:
                break
        flush(final=True)
        if total == 0:
            writer.write_table(schema.empty_table())
    return total


def merge_drops(*, by_id: list[str], by_file: list[str], drops: str, index: str, clusters: str, parts: list[dict]) -> dict:
    """drops.parquet, its per-file index and clusters.json from the partitions' runs and statistics."""
    merge_runs(by_file, BY_FILE, INDEX_SCHEMA, index, INDEX_ROW_GROUP, "zstd")
    merge_runs(by_id, BY_ID, DROPS_SCHEMA, drops, DROPS_ROW_GROUP, "zstd")
    sizes: dict[int, int] = {}
    by_source: dict[str, dict[str, int]] = {}
    for p in parts:
        for k, v in p["cluster_sizes"].items():
            sizes[int(k)] = sizes.get(int(k), 0) + v
        for src, d in p["drops_by_source"].items():
            acc = by_source.setdefault(src, {EXACT: 0, NEAR: 0})
            for r, v in d.items():
                acc[r] += v
    stats = {k: sum(p[k] for p in parts) for k in ("clusters", "docs_in_clusters", "drops", "exact_duplicates", "near_duplicates")}
    stats["cluster_sizes"] = {str(k): sizes[k] for k in sorted(sizes)}
    stats["drops_by_source"] = dict(sorted(by_source.items()))
    write_json(clusters, stats)
    return stats
