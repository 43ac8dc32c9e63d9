"""Batch-level text helpers shared by the signal modules.

Signals see a batch of a few thousand documents at once. Instead of looping over documents in
Python, a batch's pieces (words, lines, paragraphs; see `curate/signals/text_bytes.py`) are flat
arrays plus a `doc` array saying which document each piece came from; per-document figures are
then `np.bincount`/reductions over `doc`. Every helper here keeps that shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import schema

# Characters trimmed from both ends of a token to get a "word" (ASCII punctuation plus the common
# Unicode quotes, dashes, brackets and CJK punctuation). Trimming, not deleting: "U.S." -> "u.s".
PUNCTUATION = (
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    "\u00a1\u00ab\u00b7\u00bb\u00bf"  # ¡ « · » ¿
    "\u2010\u2011\u2012\u2013\u2014\u2015"  # dashes
    "\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2026\u2039\u203a"  # quotes, bullet, ellipsis
    "\u3001\u3002\u300c\u300d\u300e\u300f\u3010\u3011\u300a\u300b"  # CJK punctuation
    "\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f"  # fullwidth ! ( ) , : ; ?
)


def text_array(table: pa.Table) -> pa.Array:
    """The table's text column as one contiguous array, nulls read as empty documents."""
    col = table.column(schema.TEXT)
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    return arr


@dataclass(frozen=True)
class Words:
    """Normalized words of a batch: lower-cased, punctuation trimmed off both ends, tokens that were
    only punctuation dropped. Equal `ids` means equal words (within this batch)."""

    doc: np.ndarray  # int64 per word, non-decreasing
    ids: np.ndarray  # int64 per word
    length: np.ndarray  # int64 code points per word

    def __len__(self) -> int:
        return len(self.doc)


def per_doc_sum(doc: np.ndarray, n_docs: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum of `weights` (or count of pieces) per document, as float64 (weights) or int64 (count)."""
    if weights is None:
        return np.bincount(doc, minlength=n_docs).astype(np.int64)
    return np.bincount(doc, weights=weights, minlength=n_docs)


def per_doc_max(doc: np.ndarray, values: np.ndarray, n_docs: int) -> np.ndarray:
    """Maximum of `values` per document (0 for documents without pieces). `doc` must be sorted."""
    out = np.zeros(n_docs, dtype=values.dtype if len(values) else np.int64)
    if len(values) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
    out[doc[starts]] = np.maximum.reduceat(values, starts)
    return out


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den as float64, 0 where den is 0 (an empty document has no fraction of anything)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(len(num), dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out
