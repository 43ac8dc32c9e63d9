"""Seeded per-document coin flips that depend only on (seed, salt, document key).

Why: the held-out split, the tokenizer's training sample and Pareto selection must not change
when files are re-split across workers or a run resumes, so the decision for a document is a hash of a
key of it, never a draw from a stream whose position depends on processing order. The held-out
split and Pareto draws use `doc_keys` (source, input file name, line/row, id: distinct even when given ids repeat,
so 285 documents that all carry the id `copyright` are not sent to one side together).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash


def unit_hash(ids: Iterable[str], seed: int, salt: str) -> np.ndarray:
    """A float64 in [0, 1) per id, uniform and stable for a given (seed, salt)."""
    key = xxhash.xxh64_intdigest(f"{seed}:{salt}".encode())
    h = np.fromiter((xxhash.xxh64_intdigest(i.encode("utf-8"), key) for i in ids), dtype=np.uint64)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def doc_keys(table: pa.Table) -> list[str]:
    """A key per document of a stored table: `<source>\x1f<file name>\x1f<line or row>\x1f<id>`.

    The file is named by its last path component, not the stored path: the stored path is absolute
    for inputs outside the pipeline's folder, and the same inputs must give the same decisions from
    any checkout or mount point. The line and id keep keys distinct (ids alone may repeat); two
    documents share a key only if they also share source, file name, line and id. A bare table of ids
    and texts, as some callers build, is keyed by id."""
    if not all(c in table.column_names for c in ("source", "file", "line")):
        return table.column("id").to_pylist()
    name = pc.replace_substring_regex(pc.cast(table.column("file"), pa.string()), r"^.*[/\\]", "")
    cols = [pc.cast(table.column("source"), pa.string()), name, pc.cast(table.column("line"), pa.string()),
            pc.fill_null(pc.cast(table.column("id"), pa.string()), "")]
    return pc.binary_join_element_wise(*cols, "\x1f").to_pylist()
