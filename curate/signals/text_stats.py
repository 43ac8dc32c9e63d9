"""Batch-level text helpers shared by the signal modules.

Signals see a batch of a few thousand documents at once. Instead of looping over documents in
Python, text is split with Arrow kernels into one flat array of pieces (words, lines, paragraphs)
plus a `doc` array saying which document each piece came from; per-document figures are then
`np.bincount`/reductions over `doc`. Every helper here keeps that shape.
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


@dataclass(frozen=True)
class Pieces:
    """A flat array of text pieces and, for each, the index of the document it belongs to."""

    values: pa.Array  # (large_)string, no empty strings
    doc: np.ndarray  # int64, non-decreasing, same length as values

    def __len__(self) -> int:
        return len(self.values)


def text_array(table: pa.Table) -> pa.Array:
    """The table's text column as one contiguous array, nulls read as empty documents."""
    col = table.column(schema.TEXT)
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    return arr


def _flatten_nonempty(lists: pa.Array) -> Pieces:
    values = pc.list_flatten(lists)
    doc = np.asarray(pc.list_parent_indices(lists), dtype=np.int64)
    keep = pc.greater(pc.binary_length(values), 0)
    return Pieces(values.filter(keep), doc[np.asarray(keep, dtype=bool)])


def whitespace_tokens(texts: pa.Array) -> Pieces:
    """Non-empty runs of non-whitespace (Unicode whitespace, including no-break spaces)."""
    return _flatten_nonempty(pc.utf8_split_whitespace(texts))


@dataclass(frozen=True)
class Words:
    """Normalized words of a batch: lower-cased, punctuation trimmed off both ends, tokens that were
    only punctuation dropped. Equal `ids` means equal words (within this batch)."""

    doc: np.ndarray  # int64 per word, non-decreasing
    ids: np.ndarray  # int64 per word
    length: np.ndarray  # int64 code points per word

    def __len__(self) -> int:
        return len(self.doc)


@dataclass(frozen=True)
class Tokens:
    """Whitespace tokens of a batch, dictionary-encoded.

    A batch of a few MB has ~100x fewer distinct tokens than tokens, so per-token string work
    (normalizing, regex tests, counting characters) is done once per distinct token (`vocab`) and
    spread to the occurrences with `index`.
    """

    doc: np.ndarray  # int64 per token, non-decreasing
    index: np.ndarray  # int64 per token: position in `vocab`
    vocab: pa.Array  # the distinct tokens
    norm: pa.Array  # per vocab entry: its normalized word ("" if it is only punctuation)

    def per_vocab(self, values: pa.Array | np.ndarray, dtype: type = np.int64) -> np.ndarray:
        """A per-vocab-entry value spread to every token occurrence."""
        return np.asarray(values, dtype=dtype)[self.index]

    def words(self) -> Words:
        norm_len = char_lengths(self.norm)
        norm_ids = np.asarray(pc.dictionary_encode(self.norm).indices, dtype=np.int64)
        keep = norm_len[self.index] > 0
        vocab_index = self.index[keep]
        return Words(self.doc[keep], norm_ids[vocab_index], norm_len[vocab_index])


def tokenize(texts: pa.Array) -> Tokens:
    """Split on whitespace, drop empty pieces, dictionary-encode and normalize the distinct tokens."""
    pieces = whitespace_tokens(texts)
    encoded = pc.dictionary_encode(pieces.values)
    vocab = encoded.dictionary
    norm = pc.utf8_lower(pc.utf8_trim(vocab, PUNCTUATION))
    return Tokens(pieces.doc, np.asarray(encoded.indices, dtype=np.int64), vocab, norm)


def split_trimmed(texts: pa.Array, pattern: str, *, regex: bool = False) -> Pieces:
    """Split each text on `pattern`, trim whitespace off each piece and drop the empty ones."""
    lists = pc.split_pattern_regex(texts, pattern) if regex else pc.split_pattern(texts, pattern)
    flat = _flatten_nonempty(lists)
    trimmed = pc.utf8_trim_whitespace(flat.values)
    keep = pc.greater(pc.binary_length(trimmed), 0)
    return Pieces(trimmed.filter(keep), flat.doc[np.asarray(keep, dtype=bool)])


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


def repeat_mask(pieces: Pieces) -> np.ndarray:
    """True for each piece equal to an earlier piece of the same document (first copies are False)."""
    if len(pieces) == 0:
        return np.zeros(0, dtype=bool)
    ids = np.asarray(pc.dictionary_encode(pieces.values).indices, dtype=np.int64)
    keys = (pieces.doc << 32) | ids
    _, first = np.unique(keys, return_index=True)
    repeated = np.ones(len(keys), dtype=bool)
    repeated[first] = False
    return repeated


def char_lengths(values: pa.Array) -> np.ndarray:
    """Length in Unicode code points of each string, as int64."""
    return np.asarray(pc.utf8_length(values), dtype=np.int64)
