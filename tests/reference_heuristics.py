"""A frozen copy of the heuristics signal as it was before the byte-level kernels (Arrow splitting
and dictionary encoding per batch). Tests compare the production signal against it column by column;
it is kept here, not in the package, so it cannot drift with the production code."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import schema
from curate.signals.heuristics import HeuristicsConfig

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

# Gopher's stop-word rule: a real English document contains at least two of these.
GOPHER_STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
# C4 drops lines holding any of these (case-insensitive); here they are counted.
C4_POLICY_PHRASES = [
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
]
_BULLET_START = r"^[\-\*\x{2022}\x{2023}\x{25e6}\x{25cf}\x{25cb}\x{25aa}\x{25ab}\x{25a0}\x{25a1}\x{25ba}\x{25b8}\x{27a2}\x{27a4}\x{2713}\x{2714}\x{00b7}]"
_ELLIPSIS_END = r"(\.\.\.|\x{2026})$"
# Terminal punctuation for C4/FineWeb's "line ends in punctuation": . ! ? quotes, ellipsis, CJK stops.
_TERMINAL_END = r"[.!?\"'\x{201d}\x{2019}\x{00bb}\x{2026}\x{3002}\x{ff01}\x{ff1f}]$"
_PARAGRAPH_BREAK = r"\n[\s\p{Z}]*\n"

_K = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the rolling n-gram hash


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: spreads small integer ids over 64 bits before they are combined."""
    x = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def group_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each key, an id shared exactly by the equal keys, and how many keys are equal to it.

    Same result as `np.unique(keys, return_inverse=True, return_counts=True)` (group ids in another
    order), at a fraction of the cost: each key's position is packed into its low bits so that one
    SIMD `np.sort` does the work of an `argsort`. If two different keys share their high bits, which
    the packing would confuse, it falls back to `np.unique`.
    """
    m = len(keys)
    bits = max(int(m - 1).bit_length(), 1)
    low = np.uint64((1 << bits) - 1)
    packed = np.sort((keys & ~low) | np.arange(m, dtype=np.uint64))
    order = (packed & low).astype(np.int64)
    ordered = keys[order]
    new_run = ordered[1:] != ordered[:-1]
    if np.any(new_run & ((packed[1:] >> np.uint64(bits)) == (packed[:-1] >> np.uint64(bits)))):
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        return inverse, counts[inverse]
    starts = np.flatnonzero(np.r_[True, new_run])
    lengths = np.diff(np.r_[starts, m])
    group = np.empty(m, dtype=np.int64)
    group[order] = np.repeat(np.arange(len(starts)), lengths)
    count = np.empty(m, dtype=np.int64)
    count[order] = np.repeat(lengths, lengths)
    return group, count


def ngram_char_stats(
    words: Words, n_docs: int, top_sizes: list[int], dup_sizes: list[int]
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], np.ndarray]:
    """Characters covered by repeated word n-grams, per document.

    Returns (top, dup, total): `top[n]` = characters covered by the occurrences of the most frequent
    n-gram (if it occurs at least twice; among equally frequent ones, the one covering most
    characters), `dup[n]` = characters covered by all occurrences of every n-gram that occurs at
    least twice, `total` = characters of all words. A word covered by several occurrences counts once.
    """
    total = per_doc_sum(words.doc, n_docs, words.length.astype(np.float64))
    top = {n: np.zeros(n_docs) for n in top_sizes}
    dup = {n: np.zeros(n_docs) for n in dup_sizes}
    sizes = sorted(set(top_sizes) | set(dup_sizes))
    if not sizes or len(words) == 0:
        return top, dup, total

    charcum = np.concatenate(([0], np.cumsum(words.length)))
    word_hash = _mix64(words.ids)
    doc = words.doc
    doc_end = np.cumsum(np.bincount(doc, minlength=n_docs))[doc]  # one past the doc's last word

    pos = np.arange(len(words), dtype=np.int64)  # start positions still in play
    h = doc.astype(np.uint64) * _K * _K + word_hash  # unigram keys; the doc index keeps documents apart
    for n in range(1, sizes[-1] + 1):
        if n > 1:  # extend each (n-1)-gram by the next word, if the document has one
            fits = pos + n <= doc_end[pos]
            pos, h = pos[fits], h[fits]
            h = h * _K + word_hash[pos + n - 1]
        if n < sizes[0] or len(pos) == 0:
            continue
        inverse, occurrences = group_counts(h)
        repeats = occurrences >= 2
        if n in dup:
            dup[n] = _covered_chars(pos[repeats], n, charcum, doc, n_docs)
        if n in top:
            top[n] = _top_gram_chars(pos, inverse, occurrences, n, charcum, doc, n_docs)
        pos, h = pos[repeats], h[repeats]
    return top, dup, total


def _covered_chars(starts: np.ndarray, n: int, charcum: np.ndarray, doc: np.ndarray, n_docs: int) -> np.ndarray:
    """Characters of the words covered by the n-word spans starting at `starts` (ascending), per doc.

    All spans have the same length, so a span can only overlap the one just before it; counting
    each span from where the previous one ends counts every covered word once.
    """
    if len(starts) == 0:
        return np.zeros(n_docs)
    prev_end = np.r_[-1, starts[:-1] + n]
    covered = charcum[starts + n] - charcum[np.maximum(starts, prev_end)]
    return per_doc_sum(doc[starts], n_docs, covered.astype(np.float64))


def _top_gram_chars(
    pos: np.ndarray,
    gram: np.ndarray,
    occurrences: np.ndarray,
    n: int,
    charcum: np.ndarray,
    doc: np.ndarray,
    n_docs: int,
) -> np.ndarray:
    """Characters covered by each document's most frequent n-gram (0 if no n-gram repeats)."""
    out = np.zeros(n_docs)
    pos_doc = doc[pos]
    best = per_doc_max(pos_doc, occurrences, n_docs)
    cand = (occurrences >= 2) & (occurrences == best[pos_doc])
    if not cand.any():
        return out
    p, g = pos[cand], gram[cand]
    order = np.argsort(g, kind="stable")  # group by n-gram, positions stay ascending inside a group
    p, g = p[order], g[order]
    first = np.r_[True, g[1:] != g[:-1]]
    prev_end = np.where(first, -1, np.r_[0, p[:-1]] + n)  # overlap with the previous occurrence
    covered = charcum[p + n] - charcum[np.maximum(p, prev_end)]
    starts = np.flatnonzero(first)
    per_gram = np.add.reduceat(covered, starts).astype(np.float64)
    np.maximum.at(out, doc[p[starts]], per_gram)
    return out


def _line_flags(values: pa.Array, pattern: str, *, ignore_case: bool = False) -> np.ndarray:
    return np.asarray(pc.match_substring_regex(values, pattern, ignore_case=ignore_case), dtype=bool)


class ReferenceHeuristics:
    """Adds the heuristic columns listed in docs/signals.md (plain names, no prefix)."""

    def __init__(self, cfg: HeuristicsConfig):
        self.cfg = cfg
        self._stop_words = pa.array(cfg.stop_words, pa.string())
        self._policy = "|".join(C4_POLICY_PHRASES)

    def columns(self, table: pa.Table) -> dict[str, pa.Array]:
        texts = text_array(table)
        n = len(texts)
        out: dict[str, pa.Array] = {}

        # words: whitespace tokens, and normalized words (lower-case, punctuation trimmed)
        tokens = tokenize(texts)
        words = tokens.words()
        word_count = per_doc_sum(tokens.doc, n)
        hashes = per_doc_sum(tokens.doc, n, tokens.per_vocab(pc.count_substring(tokens.vocab, "#"), np.float64))
        ellipsis_per_vocab = np.asarray(pc.count_substring(tokens.vocab, "..."), dtype=np.float64) + np.asarray(
            pc.count_substring(tokens.vocab, "\u2026"), dtype=np.float64
        )
        ellipses = per_doc_sum(tokens.doc, n, tokens.per_vocab(ellipsis_per_vocab, np.float64))
        alpha = tokens.per_vocab(pc.match_substring_regex(tokens.vocab, r"\pL"), bool)
        stop = tokens.per_vocab(pc.fill_null(pc.index_in(tokens.norm, value_set=self._stop_words), -1))
        is_stop = stop >= 0
        n_stop = max(len(self.cfg.stop_words), 1)
        stop_pairs = np.unique(tokens.doc[is_stop] * n_stop + stop[is_stop])

        out["word_count"] = pa.array(word_count, pa.int64())
        out["char_count"] = pa.array(np.asarray(pc.utf8_length(texts), dtype=np.int64), pa.int64())
        out["mean_word_length"] = pa.array(
            ratio(per_doc_sum(words.doc, n, words.length.astype(np.float64)), per_doc_sum(words.doc, n))
        )
        out["hash_to_word_ratio"] = pa.array(ratio(hashes, word_count))
        out["ellipsis_to_word_ratio"] = pa.array(ratio(ellipses, word_count))
        out["symbol_to_word_ratio"] = pa.array(ratio(hashes + ellipses, word_count))
        out["alpha_word_fraction"] = pa.array(ratio(per_doc_sum(tokens.doc[alpha], n), word_count))
        out["stop_word_count"] = pa.array(per_doc_sum(tokens.doc[is_stop], n), pa.int64())
        out["stop_word_distinct"] = pa.array(per_doc_sum(stop_pairs // n_stop, n), pa.int64())

        # lines (split on \n, trimmed, blank lines dropped)
        lines = split_trimmed(texts, "\n")
        line_len = char_lengths(lines.values)
        line_count = per_doc_sum(lines.doc, n)
        line_chars = per_doc_sum(lines.doc, n, line_len.astype(np.float64))

        def line_fraction(mask: np.ndarray) -> pa.Array:
            return pa.array(ratio(per_doc_sum(lines.doc[mask], n), line_count))

        js = np.asarray(pc.match_substring(lines.values, "javascript", ignore_case=True), dtype=bool)
        policy = _line_flags(lines.values, self._policy, ignore_case=True)
        repeated = repeat_mask(lines)
        out["line_count"] = pa.array(line_count, pa.int64())
        out["max_line_length"] = pa.array(per_doc_max(lines.doc, line_len, n), pa.int64())
        out["bullet_line_fraction"] = line_fraction(_line_flags(lines.values, _BULLET_START))
        out["ellipsis_line_fraction"] = line_fraction(_line_flags(lines.values, _ELLIPSIS_END))
        out["punct_end_line_fraction"] = line_fraction(_line_flags(lines.values, _TERMINAL_END))
        out["short_line_fraction"] = line_fraction(line_len <= self.cfg.short_line_chars)
        out["javascript_line_count"] = pa.array(per_doc_sum(lines.doc[js], n), pa.int64())
        out["javascript_line_fraction"] = line_fraction(js)
        out["policy_line_count"] = pa.array(per_doc_sum(lines.doc[policy], n), pa.int64())
        out["policy_line_fraction"] = line_fraction(policy)
        out["duplicate_line_fraction"] = line_fraction(repeated)
        out["duplicate_line_char_fraction"] = pa.array(
            ratio(per_doc_sum(lines.doc, n, np.where(repeated, line_len, 0).astype(np.float64)), line_chars)
        )

        # paragraphs (separated by a blank line)
        paras = split_trimmed(texts, _PARAGRAPH_BREAK, regex=True)
        para_len = char_lengths(paras.values)
        para_count = per_doc_sum(paras.doc, n)
        para_rep = repeat_mask(paras)
        out["duplicate_paragraph_fraction"] = pa.array(ratio(per_doc_sum(paras.doc[para_rep], n), para_count))
        out["duplicate_paragraph_char_fraction"] = pa.array(
            ratio(
                per_doc_sum(paras.doc, n, np.where(para_rep, para_len, 0).astype(np.float64)),
                per_doc_sum(paras.doc, n, para_len.astype(np.float64)),
            )
        )

        # repeated n-grams over normalized words (of a capped prefix, see ngram_max_chars)
        cap = self.cfg.ngram_max_chars
        if cap and n and pc.max(pc.utf8_length(texts)).as_py() > cap:
            gram_words = tokenize(pc.utf8_slice_codeunits(texts, 0, cap)).words()
        else:
            gram_words = words
        top, dup, total = ngram_char_stats(gram_words, n, self.cfg.top_ngram_sizes, self.cfg.dup_ngram_sizes)
        for size, chars in top.items():
            out[f"top_{size}gram_char_fraction"] = pa.array(ratio(chars, total))
        for size, chars in dup.items():
            out[f"duplicate_{size}gram_char_fraction"] = pa.array(ratio(chars, total))

        # boilerplate markers (C4)
        out["has_lorem_ipsum"] = pc.match_substring(texts, "lorem ipsum", ignore_case=True)
        out["has_curly_bracket"] = pc.match_substring(texts, "{")
        return out
