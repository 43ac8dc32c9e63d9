"""Global deduplication: exact hashes + MinHash LSH, verified, clustered, one document kept per cluster.

The work is split so that peak memory is set by a config value, not by the corpus:

pass 1 `bucket_file` (one task per annotated file, parallel): for every document, one row per LSH
    band (band, key = hash of the band's `rows` signature values) plus one row for the exact hash
    (band 255), each written to partition `key % P` under `buckets/part-XXXX/<file>.parquet`;
    the file's signatures are copied once to `sigs/<file>.npy` for verification by memory map.
pass 2 `pair_partition` (one task per partition, parallel): sort the partition's rows, and in every
    group of equal (band, key) emit candidate pairs (each member with up to the group's first
    `FANOUT` members); exact groups are edges as they are, band pairs become edges only when their
    signatures agree on enough positions (estimated Jaccard >= `DedupConfig.accept_threshold`).
pass 3 `cluster` (one task): union-find over all edges, then the keep policy picks one document
    per cluster; every other member is written to `drops.parquet` with its cluster and reason.

A document is addressed inside the stage by `doc = file_ordinal << 32 | row`, so no string id is
carried through passes 1-2. P comes from `num_partitions` or from `max_memory_mb` and the number
of documents; the result does not depend on P (tests check this).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.dedup.config import DedupConfig, candidate_probability  # noqa: F401  (part of the engine's public names)
from curate.errors import CurateError
from curate.io.atomic import atomic_path, write_json
from curate.signals.minhash import EMPTY, HASH_COLUMN, MINHASH_COLUMN, splitmix64

EXACT_BAND = 255  # the band number of exact-hash rows (LSH bands are 0..254)
FANOUT = 8  # a bucket member is compared with at most the first FANOUT members of its bucket
ROW_BYTES = 64  # memory one bucket row costs in pass 2 (17 B data + sort order, copies, group ids)
EXACT = "exact_duplicate"
NEAR = "near_duplicate"
_BATCH = 65_536  # rows read from Parquet at a time
_PAIR_CHUNK = 65_536  # candidate pairs verified at once

BUCKET_SCHEMA = pa.schema([("band", pa.uint8()), ("key", pa.uint64()), ("doc", pa.uint64())])
EDGE_SCHEMA = pa.schema([("a", pa.uint64()), ("b", pa.uint64())])
# (file, row) addresses a document exactly (input ids may repeat); id/source are for people
DROPS_SCHEMA = pa.schema([("id", pa.string()), ("source", pa.string()), ("cluster", pa.string()),
                          ("cluster_source", pa.string()), ("reason", pa.string()), ("file", pa.string()), ("row", pa.int64())])


def num_partitions(cfg: DedupConfig, docs: int, bands: int) -> int:
    """Partitions so that one partition's rows fit `max_memory_mb` (or as configured)."""
    if cfg.num_partitions:
        return cfg.num_partitions
    rows = docs * (bands + 1)
    return max(1, min(9999, math.ceil(rows * ROW_BYTES / (cfg.max_memory_mb * 2**20))))


def _band_seeds(seed: int, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, 0x6C7368])  # "lsh"
    full = np.iinfo(np.uint64).max
    mult = rng.integers(0, full, size=rows, dtype=np.uint64, endpoint=True) | np.uint64(1)
    band = rng.integers(0, full, size=bands, dtype=np.uint64, endpoint=True)
    return mult, band


def band_keys(sig: np.ndarray, bands: int, rows: int, seed: int) -> np.ndarray:
    """(docs x bands) uint64 keys: a seeded hash of each band's `rows` signature values."""

    mult, band = _band_seeds(seed, bands, rows)
    v = sig[:, : bands * rows].astype(np.uint64).reshape(len(sig), bands, rows)
    acc = (v * mult).sum(axis=2, dtype=np.uint64) + band  # wraps mod 2^64 by design
    return splitmix64(acc)


# ---------------------------------------------------------------------------------------------
# pass 1


def bucket_file(*, path: str, ordinal: int, buckets: str, sigs: str, partitions: int, bands: int, rows: int,
                exact: bool, near: bool, seed: int, empty_hash: int) -> dict:
    """Pass 1 for one annotated file: band/exact rows into partitions, signatures into sigs/<file>.npy."""
    pf = pq.ParquetFile(path)
    n = pf.metadata.num_rows
    cols = ([HASH_COLUMN] if exact else []) + ([MINHASH_COLUMN] if near else [])
    name = f"{ordinal:05d}.parquet"
    counts = np.zeros(partitions, dtype=np.int64)
    skipped = 0
    with contextlib.ExitStack() as stack:  # on error every temp file is removed; on success renamed
        writers: dict[int, pq.ParquetWriter] = {}

        def writer(p: int) -> pq.ParquetWriter:
            if p not in writers:
                tmp = stack.enter_context(atomic_path(Path(buckets) / f"part-{p:04d}" / name))
                writers[p] = pq.ParquetWriter(tmp, BUCKET_SCHEMA, compression="none")
                stack.callback(writers[p].close)  # closed before the rename (exit order is LIFO)
            return writers[p]

        sig_out = None
        if near:
            width = pf.schema_arrow.field(MINHASH_COLUMN).type.list_size
            tmp = stack.enter_context(atomic_path(Path(sigs) / f"{ordinal:05d}.npy"))
            sig_out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint32, shape=(n, width))
            stack.callback(sig_out.flush)
        start = 0
        for batch in pf.iter_batches(batch_size=_BATCH, columns=cols):
            m = batch.num_rows
            doc = (np.uint64(ordinal) << np.uint64(32)) | np.arange(start, start + m, dtype=np.uint64)
            if near:
                sig = np.asarray(batch.column(MINHASH_COLUMN).flatten()).reshape(m, -1)
                sig_out[start : start + m] = sig
                live = ~(sig == EMPTY).all(axis=1)
            else:
                live = np.asarray(batch.column(HASH_COLUMN)) != np.uint64(empty_hash)
            skipped += int(m - live.sum())
            bands_l, keys_l, docs_l = [], [], []
            if exact:
                bands_l.append(np.full(int(live.sum()), EXACT_BAND, np.uint8))
                keys_l.append(np.asarray(batch.column(HASH_COLUMN))[live])
                docs_l.append(doc[live])
            if near:
                keys = band_keys(sig[live], bands, rows, seed)
                bands_l.append(np.tile(np.arange(bands, dtype=np.uint8), keys.shape[0]))
                keys_l.append(keys.reshape(-1))
                docs_l.append(np.repeat(doc[live], bands))
            band, key, doc = np.concatenate(bands_l), np.concatenate(keys_l), np.concatenate(docs_l)
            part = (key % np.uint64(partitions)).astype(np.int64)
            order = np.argsort(part, kind="stable")
            part, band, key, doc = part[order], band[order], key[order], doc[order]
            cuts = np.flatnonzero(np.diff(part)) + 1
            for lo, hi in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [part.size]))):
                p = int(part[lo])
                writer(p).write_table(pa.table([band[lo:hi], key[lo:hi], doc[lo:hi]], schema=BUCKET_SCHEMA))
                counts[p] += hi - lo
            start += m
    return {"docs": n, "empty": skipped, "rows": int(counts.sum())}


# ---------------------------------------------------------------------------------------------
# pass 2


def group_pairs(band: np.ndarray, key: np.ndarray, doc: np.ndarray, fanout: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs (a < b, unique) from rows sharing (band, key); returns (a, b, is_exact)."""
    order = np.lexsort((doc, key, band))
    band, key, doc = band[order], key[order], doc[order]
    new = np.ones(doc.size, dtype=bool)
    new[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    gstart = np.flatnonzero(new)
    first_of = np.repeat(gstart, np.diff(np.append(gstart, doc.size)))
    rank = np.arange(doc.size) - first_of
    out_a, out_b, out_x = [], [], []
    for i in range(fanout):
        sel = rank > i
        if i > 0:
            sel &= band != EXACT_BAND  # exact groups: every member with the first is enough
        if not sel.any():
            break
        out_a.append(doc[first_of[sel] + i])
        out_b.append(doc[sel])
        out_x.append(band[sel] == EXACT_BAND)
    if not out_a:
        z = np.zeros(0, np.uint64)
        return z, z, np.zeros(0, bool)
    a, b, x = np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_x)
    # one row per pair; a pair found both exactly and by a band counts as exact
    order = np.lexsort((~x, b, a))
    a, b, x = a[order], b[order], x[order]
    keep = np.ones(a.size, dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[keep], b[keep], x[keep]


class SignatureStore:
    """Reads the signatures of given documents from the per-file `.npy` copies (memory-mapped)."""

    def __init__(self, sigs: Path):
        self.sigs = Path(sigs)

    def take(self, docs: np.ndarray) -> np.ndarray:
        """Signatures of sorted, unique `docs`, in that order."""
        ords = (docs >> np.uint64(32)).astype(np.int64)
        rows = (docs & np.uint64(0xFFFFFFFF)).astype(np.int64)
        out = None
        cuts = np.flatnonzero(np.diff(ords)) + 1
        for lo, hi in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [ords.size]))):
            mm = np.load(self.sigs / f"{int(ords[lo]):05d}.npy", mmap_mode="r")
            if out is None:
                out = np.empty((docs.size, mm.shape[1]), dtype=np.uint32)
            out[lo:hi] = mm[rows[lo:hi]]
            del mm
        return out if out is not None else np.zeros((0, 0), np.uint32)


def pair_partition(*, part_dir: str, sigs: str, out: str, accept: float) -> dict:
    """Pass 2 for one partition: candidate pairs from shared buckets, verified, written as edges."""
    files = sorted(Path(part_dir).glob("*.parquet")) if Path(part_dir).is_dir() else []
    if files:
        t = pa.concat_tables([pq.read_table(f, schema=BUCKET_SCHEMA) for f in files])
        band = t.column("band").to_numpy()
        key = t.column("key").to_numpy()
        doc = t.column("doc").to_numpy()
        del t
    else:
        band, key, doc = np.zeros(0, np.uint8), np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    rows = int(doc.size)
    a, b, x = group_pairs(band, key, doc, FANOUT)
    del band, key, doc
    candidates = int((~x).sum())
    ok = x.copy()
    near = np.flatnonzero(~x)
    if near.size:
        uniq = np.unique(np.concatenate((a[near], b[near])))
        sig = SignatureStore(Path(sigs)).take(uniq)
        need = math.ceil(accept * sig.shape[1] - 1e-9)  # equal signature values needed
        for lo in range(0, near.size, _PAIR_CHUNK):
            idx = near[lo : lo + _PAIR_CHUNK]
            agree = (sig[np.searchsorted(uniq, a[idx])] == sig[np.searchsorted(uniq, b[idx])]).sum(axis=1)
            ok[idx] = agree >= need
    with atomic_path(out) as tmp:
        pq.write_table(pa.table([a[ok], b[ok]], schema=EDGE_SCHEMA), tmp, compression="none")
    return {"rows": rows, "candidate_pairs": candidates, "verified_pairs": int(ok[~x].sum()), "exact_pairs": int(x.sum())}


# ---------------------------------------------------------------------------------------------
# pass 3


def union_find(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Root of every node 0..n-1 given edges (a[i], b[i]): the smallest node of its component.

    Vectorized: each round hooks the larger root of every unmerged edge under the smaller one
    (`minimum.at`), then compresses paths by pointer jumping until every node points at a root.
    """
    parent = np.arange(n, dtype=np.int64)
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
        pq.write_table(out, tmp, compression="zstd")
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
