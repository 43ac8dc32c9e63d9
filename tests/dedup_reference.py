"""The dedup cluster step as it was before it was partitioned (one task, everything in memory):
the reference the partitioned pass 3 (curate/dedup/clusters.py) must reproduce byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.dedup.clusters import DROPS_SCHEMA, EDGE_SCHEMA, EXACT, NEAR, union_find
from curate.errors import CurateError
from curate.io.atomic import atomic_path, write_json
from curate.signals.minhash import HASH_COLUMN

_BATCH = 65_536


def _member_table(files: list[dict], nodes: np.ndarray, length_column: str | None, with_hash: bool) -> pa.Table:
    """id, source, role, length, hash of the given doc keys (sorted), read file by file in batches."""
    ords = (nodes >> np.uint64(32)).astype(np.int64)
    rows = (nodes & np.uint64(0xFFFFFFFF)).astype(np.int64)
    parts = []
    for f in files:
        lo, hi = np.searchsorted(ords, f["ordinal"]), np.searchsorted(ords, f["ordinal"], side="right")
        if lo == hi:
            continue
        want = rows[lo:hi]
        cols = ["id", "source", "role"] + ([length_column] if length_column else ["text"]) + ([HASH_COLUMN] if with_hash else [])
        pf = pq.ParquetFile(f["path"])
        start = 0
        for batch in pf.iter_batches(batch_size=_BATCH, columns=cols):
            s, e = np.searchsorted(want, start), np.searchsorted(want, start + batch.num_rows)
            if s < e:
                t = pa.Table.from_batches([batch]).take(pa.array(want[s:e] - start))
                length = t.column(length_column) if length_column else pc.utf8_length(t.column("text"))
                parts.append(pa.table({
                    "node": pa.array(np.arange(lo + s, lo + e, dtype=np.int64)),
                    "id": t.column("id").cast(pa.string()),
                    "source": t.column("source").cast(pa.string()),
                    "role": t.column("role").cast(pa.string()),
                    "length": length.cast(pa.int64()),
                    "hash": t.column(HASH_COLUMN).cast(pa.uint64()) if with_hash else pa.nulls(e - s, pa.uint64()),
                    "file": pa.array([f.get("key", f["path"])] * (e - s), pa.string()),
                    "row": pa.array(want[s:e], pa.int64()),
                }))
            start += batch.num_rows
    return pa.concat_tables(parts) if parts else pa.table({"node": pa.array([], pa.int64())})


def cluster(*, edges: list[str], files: list[dict], drops: str, clusters: str, prefer_roles: list[str],
            length_column: str | None, with_hash: bool) -> dict:
    """Pass 3: union-find over all edges; keep one document per cluster; write drops + cluster stats."""
    tabs = [pq.read_table(p, schema=EDGE_SCHEMA) for p in edges if Path(p).exists()]
    a = np.concatenate([t.column("a").to_numpy() for t in tabs]) if tabs else np.zeros(0, np.uint64)
    b = np.concatenate([t.column("b").to_numpy() for t in tabs]) if tabs else np.zeros(0, np.uint64)
    nodes = np.unique(np.concatenate((a, b)))
    root = union_find(np.searchsorted(nodes, a), np.searchsorted(nodes, b), nodes.size)
    del a, b
    members = _member_table(files, nodes, length_column, with_hash)
    if members.num_rows != nodes.size:
        raise CurateError(f"{nodes.size - members.num_rows} documents indexed by dedup are missing from the annotated files",
                          where=str(Path(drops).parent), fix="the annotated files changed after dedup started: delete RUN/dedup and "
                          "RUN/_markers/dedup_*, then rerun")
    if nodes.size == 0:
        members = pa.table({"node": pa.array([], pa.int64()), "id": pa.array([], pa.string()), "source": pa.array([], pa.string()),
                            "role": pa.array([], pa.string()), "length": pa.array([], pa.int64()), "hash": pa.array([], pa.uint64()),
                            "file": pa.array([], pa.string()), "row": pa.array([], pa.int64())})
    members = members.sort_by([("node", "ascending")])
    role_rank = pc.fill_null(pc.index_in(members.column("role"), value_set=pa.array(prefer_roles, pa.string())), len(prefer_roles))
    members = members.append_column("cluster_node", pa.array(root[members.column("node").to_numpy()]))
    members = members.append_column("role_rank", role_rank)
    order = pc.sort_indices(members, sort_keys=[("cluster_node", "ascending"), ("role_rank", "ascending"), ("length", "descending"),
                                                ("id", "ascending"), ("source", "ascending"), ("node", "ascending")])
    m = members.take(order)
    cl = m.column("cluster_node").to_numpy()
    first = np.ones(cl.size, dtype=bool)
    first[1:] = cl[1:] != cl[:-1]
    head = np.maximum.accumulate(np.where(first, np.arange(cl.size), 0))  # row of each cluster's kept doc
    head_idx = pa.array(head)
    kept_id, kept_src = m.column("id").take(head_idx), m.column("source").take(head_idx)
    if with_hash:
        same = pc.equal(m.column("hash"), m.column("hash").take(head_idx)).to_numpy(zero_copy_only=False)
    else:
        same = np.zeros(cl.size, dtype=bool)
    reason = np.where(same, EXACT, NEAR)
    drop = ~first
    out = pa.table([m.column("id"), m.column("source"), kept_id, kept_src, pa.array(reason), m.column("file"), m.column("row")],
                   schema=DROPS_SCHEMA).filter(pa.array(drop))
    out = out.take(pc.sort_indices(out, sort_keys=[("source", "ascending"), ("id", "ascending"), ("file", "ascending"), ("row", "ascending")]))
    with atomic_path(drops) as tmp:
        pq.write_table(out, tmp, compression="zstd", row_group_size=128 * 1024)  # drops.parquet's row groups
    sizes = np.diff(np.append(np.flatnonzero(first), cl.size))
    hist_sizes, hist_counts = np.unique(sizes, return_counts=True)
    by_source: dict[str, dict[str, int]] = {}
    for row in out.group_by(["source", "reason"]).aggregate([("id", "count")]).to_pylist():
        by_source.setdefault(row["source"], {EXACT: 0, NEAR: 0})[row["reason"]] = row["id_count"]
    stats = {
        "clusters": int(first.sum()),
        "docs_in_clusters": int(cl.size),
        "drops": int(drop.sum()),
        "exact_duplicates": int((drop & same).sum()),
        "near_duplicates": int((drop & ~same).sum()),
        "cluster_sizes": {str(int(k)): int(v) for k, v in zip(hist_sizes, hist_counts)},
        "drops_by_source": dict(sorted(by_source.items())),
    }
    write_json(clusters, stats)
    return stats
