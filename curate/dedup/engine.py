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
pass 3 (`curate/dedup/clusters.py`): union-find over all edges on integer arrays, the clustered
    documents gathered per file into cluster partitions, the keep policy per partition (one
    document kept per cluster, the others dropped with their cluster and reason), and a merge that
    writes `drops.parquet`, its per-file index and `clusters.json`.

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
import pyarrow.parquet as pq

from curate.dedup.clusters import EDGE_SCHEMA
from curate.dedup.config import DedupConfig, candidate_probability  # noqa: F401  (part of the engine's public names)
from curate.io.atomic import atomic_path
from curate.signals.minhash import EMPTY, HASH_COLUMN, MINHASH_COLUMN, splitmix64
from curate.io.parquet_stream import open_parquet_stream

EXACT_BAND = 255  # the band number of exact-hash rows (LSH bands are 0..254)
FANOUT = 8  # a bucket member is compared with at most the first FANOUT members of its bucket
PAIR_TARGET_MB = 64  # memory of one pass-2 task at most, whatever the budget (more partitions change no drop)
ROW_BYTES = 128  # memory one bucket row costs in pass 2 (17 B data + sort order, copies, group ids; ~125 B measured)
_BATCH = 65_536  # rows read from Parquet at a time
_PAIR_CHUNK = 65_536  # candidate pairs verified at once

BUCKET_SCHEMA = pa.schema([("band", pa.uint8()), ("key", pa.uint64()), ("doc", pa.uint64())])


def num_partitions(cfg: DedupConfig, docs: int, bands: int) -> int:
    """Partitions so that one partition's rows fit `max_memory_mb` and at most `PAIR_TARGET_MB` (or as configured):
    memory stays flat as the corpus grows, and the partitions are tasks the workers share."""
    if cfg.num_partitions:
        return cfg.num_partitions
    rows = docs * (bands + 1)
    return max(1, min(9999, math.ceil(rows * ROW_BYTES / (min(cfg.max_memory_mb, PAIR_TARGET_MB) * 2**20))))


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
    pf = open_parquet_stream(path)
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
