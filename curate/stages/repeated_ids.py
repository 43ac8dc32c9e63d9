"""Ids that more than one document of a source carries, counted after annotate.

Counting in bounded memory: each annotated file's `id` column is read on its own and turned into
64-bit xxh3 hashes, so a source costs 8 bytes per document however long its ids are. Equal ids have
equal hashes, so only ids whose hash occurs more than once can repeat; the files holding such hashes
are read again and just those ids are counted as strings, which keeps the count exact when two
different ids share a hash.

The result is kept in `RUN/_markers/repeated_ids.json` under a key made of the fingerprints of the
tasks that wrote the annotated files: a resume that rewrote none of them does not read any id again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.context import RunContext
from curate.exec.base import marker_fingerprint
from curate.fingerprint import digest
from curate.io.atomic import read_json_dict, write_json
from curate.signals.minhash import xxh3_each

STAGE = "annotate"
_NULL_HASH = np.uint64(0)  # what a null id hashes to (nulls count as one value, as value_counts does)


def repeated_ids(ctx: RunContext) -> dict[str, dict[str, int]]:
    """Per source with repeated ids: {"ids": how many ids more than one document carries, "docs":
    how many documents carry them}."""
    by_source: dict[str, list[Path]] = {}
    made_by = []  # each annotated file and the fingerprint of the task that wrote it
    for f, path in ctx.annotated_files():
        by_source.setdefault(f.source.name, []).append(path)
        made_by.append([f.source.name, f.key, marker_fingerprint(ctx.run_dir, STAGE, f.key)])
    key = digest("repeated_ids", made_by)
    kept = read_json_dict(ctx.layout.repeated_ids)
    if kept.get("key") == key and isinstance(kept.get("sources"), dict):
        return kept["sources"]
    out = {}
    for name, paths in by_source.items():
        ids, docs = count_repeated(paths)
        if ids:
            out[name] = {"ids": ids, "docs": docs}
    write_json(ctx.layout.repeated_ids, {"key": key, "sources": out}, durable=False)
    return out


def count_repeated(paths: list[Path]) -> tuple[int, int]:
    """(ids carried by more than one document, documents carrying them) over the `id` columns of
    `paths` together; see the module docstring for how memory stays at 8 bytes per document."""
    hashes = [id_hashes(_ids(p)) for p in paths]
    every = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    every.sort()
    twice = np.unique(every[1:][every[1:] == every[:-1]])
    del every
    if not twice.size:
        return 0, 0
    maybe = []  # the ids whose hash repeats, file by file
    for p, h in zip(paths, hashes):
        hit = np.isin(h, twice)
        if hit.any():
            maybe.append(_ids(p).filter(pa.array(hit)))
    counts = pc.value_counts(pa.chunked_array(maybe, pa.string())).field("counts")
    many = pc.filter(counts, pc.greater(counts, 1))
    return len(many), int(pc.sum(many).as_py() or 0)


def id_hashes(ids: pa.Array) -> np.ndarray:
    """xxh3-64 of each id's UTF-8 bytes (`_NULL_HASH` for a null id): one native call per id."""
    ids = ids.cast(pa.large_string())
    n = len(ids)
    if n == 0:
        return np.zeros(0, np.uint64)
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64, count=n + 1, offset=ids.offset * 8)
    out = xxh3_each(ids.buffers()[2], offsets)
    if ids.null_count:
        out[np.asarray(ids.is_null(), dtype=bool)] = _NULL_HASH
    return out


def _ids(path: Path) -> pa.Array:
    return pq.ParquetFile(path).read(columns=["id"]).column("id").combine_chunks()
