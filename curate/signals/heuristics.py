"""Heuristic quality signals in the spirit of Gopher (Rae et al. 2021), C4 (Raffel et al. 2020) and
FineWeb (Penedo et al. 2024): cheap per-document statistics that catch boilerplate, lists, spam and
repetition. Only the statistics are computed here; thresholds live in the select stage, so an
ablation can move them without re-annotating. Every column is defined in docs/signals.md.

The whole batch is processed at once: tokens, lines and paragraphs are byte ranges of the batch's
one UTF-8 buffer found with numpy (`curate/signals/text_bytes.py`), string work (lower-casing,
trimming punctuation, the letter test) runs once per distinct token, and per-document figures are
numpy reductions over the flat pieces. Repeated n-grams are found by hashing word ids to 64-bit
n-gram keys and grouping them with one sort per size; an (n+1)-gram can only repeat where its
leading n-gram repeats, so after the first size only repeating positions are carried forward and
the larger sizes cost little.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator

from curate.signals.base import Signal, SignalContext, register_signal
from curate.signals.text_bytes import (
    Buffer,
    Segments,
    Spans,
    docs_with_byte,
    interleaved,
    segment,
    spans,
    string_parts,
    symbol_counts,
)
from curate.signals.text_stats import PUNCTUATION, Words, per_doc_max, per_doc_sum, ratio, text_array

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
# A line is a bullet line when its first character is one of these.
BULLETS = "-*\u2022\u2023\u25e6\u25cf\u25cb\u25aa\u25ab\u25a0\u25a1\u25ba\u25b8\u27a2\u27a4\u2713\u2714\u00b7"
# Terminal punctuation for C4/FineWeb's "line ends in punctuation": . ! ? quotes, ellipsis, CJK stops.
TERMINAL_PUNCTUATION = ".!?\"'\u201d\u2019\u00bb\u2026\u3002\uff01\uff1f"

_K = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the rolling n-gram hash


class HeuristicsConfig(BaseModel):
    """The `annotate.heuristics` section; `heuristics: {}` gives the Gopher defaults."""

    model_config = ConfigDict(extra="forbid")

    top_ngram_sizes: list[int] = Field(default_factory=lambda: [2, 3, 4])
    dup_ngram_sizes: list[int] = Field(default_factory=lambda: [5, 6, 7, 8, 9, 10])
    # n-gram columns look at the first N characters of each document only (0 = the whole text), which
    # bounds time and memory on huge documents; documents shorter than this are unaffected.
    ngram_max_chars: int = Field(default=100_000, ge=0)
    stop_words: list[str] = Field(default_factory=lambda: list(GOPHER_STOP_WORDS))
    short_line_chars: int = Field(default=30, ge=1)

    @field_validator("top_ngram_sizes", "dup_ngram_sizes")
    @classmethod
    def _sizes(cls, v: list[int]) -> list[int]:
        if any(n < 1 or n > 32 for n in v) or len(set(v)) != len(v):
            raise ValueError("n-gram sizes must be distinct integers from 1 to 32, e.g. [5, 10]")
        return sorted(v)

    @field_validator("stop_words")
    @classmethod
    def _stop_words(cls, v: list[str]) -> list[str]:
        if any(not w or w != w.strip().lower() for w in v):
            raise ValueError("stop words must be non-empty, lower-case, without spaces")
        return v


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: spreads small integer ids over 64 bits before they are combined."""
    x = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _sorted_runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of `keys` grouped by equal key (ascending index inside a group), and each group's start
    and length in that order.

    The index is packed into the low bits of the key so that one SIMD `np.sort` does the work of a
    stable `argsort`; if two different keys share their high bits, which the packing would confuse,
    it falls back to the stable `argsort`.
    """
    m = len(keys)
    bits = max(int(m - 1).bit_length(), 1)
    low = np.uint64((1 << bits) - 1)
    packed = np.sort((keys & ~low) | np.arange(m, dtype=np.uint64))
    order = (packed & low).astype(np.int64)
    new_run = (packed[1:] ^ packed[:-1]) > low  # the high bits differ, so the keys do
    same = np.flatnonzero(~new_run)  # high bits equal: check that the whole keys are
    if len(same) and np.any(keys[order[same]] != keys[order[same + 1]]):
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        new_run = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(np.r_[True, new_run])
    return order, starts, np.diff(np.r_[starts, m])


def group_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each key, an id shared exactly by the equal keys, and how many keys are equal to it.

    Same result as `np.unique(keys, return_inverse=True, return_counts=True)` (group ids in another
    order), through `_sorted_runs`.
    """
    m = len(keys)
    order, starts, lengths = _sorted_runs(keys)
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

    N-gram keys are 64-bit rolling hashes of the document index and the word ids. Each size is
    grouped with one sort (`_sorted_runs`) and everything after works on the groups in sorted order.
    """
    total = per_doc_sum(words.doc, n_docs, words.length.astype(np.float64))
    top = {n: np.zeros(n_docs) for n in top_sizes}
    dup = {n: np.zeros(n_docs) for n in dup_sizes}
    sizes = sorted(set(top_sizes) | set(dup_sizes))
    if not sizes or len(words) == 0:
        return top, dup, total

    n0 = sizes[0]
    if len(words) < n0:
        return top, dup, total
    charcum = np.concatenate(([0], np.cumsum(words.length)))
    word_hash = _mix64(np.arange(int(words.ids.max()) + 1))[words.ids]  # = _mix64(words.ids), mixed once per id
    doc = words.doc
    doc_end = np.cumsum(np.bincount(doc, minlength=n_docs))[doc]  # one past the doc's last word

    # keys of the smallest size at every position, as shifted vectors; the doc index keeps documents
    # apart, and only the n-grams lying inside one document stay
    h = doc.astype(np.uint64) * _K * _K + word_hash
    for k in range(1, n0):
        h = h[:-1] * _K + word_hash[k:]
    pos = np.flatnonzero(doc[: len(h)] == doc[n0 - 1 :])  # start positions still in play (ascending)
    h = h[pos]
    for n in range(n0, sizes[-1] + 1):
        if n > n0:  # extend each (n-1)-gram by the next word, if the document has one
            fits = pos + n <= doc_end[pos]
            pos, h = pos[fits], h[fits]
            h = h * _K + word_hash[pos + n - 1]
        if len(pos) == 0:
            break
        order, run_start, run_len = _sorted_runs(h)
        repeated_runs = np.flatnonzero(run_len >= 2)
        if not len(repeated_runs):
            pos, h = pos[:0], h[:0]
            continue
        in_repeat = np.zeros(len(h), dtype=bool)
        in_repeat[order[np.repeat(run_len >= 2, run_len)]] = True
        keep = np.flatnonzero(in_repeat)  # positions whose n-gram repeats, ascending
        if n in dup:
            dup[n] = _covered_chars(pos[keep], n, charcum, doc, n_docs)
        if n in top:
            top[n] = _top_gram_chars(
                pos, order, run_start[repeated_runs], run_len[repeated_runs], n, charcum, doc, n_docs
            )
        pos, h = pos[keep], h[keep]
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
    order: np.ndarray,
    run_start: np.ndarray,
    run_len: np.ndarray,
    n: int,
    charcum: np.ndarray,
    doc: np.ndarray,
    n_docs: int,
) -> np.ndarray:
    """Characters covered by each document's most frequent n-gram (0 if no n-gram repeats).

    `run_start`/`run_len` are the groups (in `order`) of the n-grams that occur at least twice.
    """
    out = np.zeros(n_docs)
    run_doc = doc[pos[order[run_start]]]
    best = np.zeros(n_docs, dtype=np.int64)
    np.maximum.at(best, run_doc, run_len)
    cand = run_len == best[run_doc]
    c_start, c_len, c_doc = run_start[cand], run_len[cand], run_doc[cand]
    # members of the candidate groups, group by group, positions ascending inside a group
    first = np.zeros(int(c_len.sum()), dtype=bool)
    heads = np.concatenate(([0], np.cumsum(c_len)[:-1]))
    first[heads] = True
    member = np.arange(len(first)) - np.repeat(heads - c_start, c_len)
    p = pos[order[member]]
    prev_end = np.where(first, -1, np.r_[0, p[:-1]] + n)  # overlap with the previous occurrence
    covered = charcum[p + n] - charcum[np.maximum(p, prev_end)]
    per_gram = np.add.reduceat(covered, heads).astype(np.float64)
    np.maximum.at(out, c_doc, per_gram)
    return out


def _segment_sum(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sum of integer `values` over each slice bounds[i]:bounds[i + 1] (int64)."""
    cum = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=cum[1:])
    return cum[bounds[1:]] - cum[bounds[:-1]]


def _first_occurrence_mask(doc: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """True for each piece equal (same id) to an earlier piece of the same document."""
    if len(ids) == 0:
        return np.zeros(0, dtype=bool)
    keys = (doc.astype(np.uint64) << np.uint64(32)) | ids.astype(np.uint64)
    order, run_start, _ = _sorted_runs(keys)
    repeated = np.ones(len(keys), dtype=bool)
    repeated[order[run_start]] = False  # the first (lowest index) piece of each group
    return repeated


def _in_set(codes: np.ndarray, chars: str) -> np.ndarray:
    return np.isin(codes, np.array([ord(c) for c in chars], dtype=np.int64))


def _has_letter(values: pa.Array) -> np.ndarray:
    """True for each string holding a letter (`\\pL`): ASCII strings are tested on their bytes, the
    others with Arrow's regex."""
    out = np.zeros(len(values), dtype=bool)
    if not len(values):
        return out
    offsets, data = string_parts(values)
    letters = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum((np.bitwise_or(data, np.uint8(32)) - np.uint8(97)) < 26, out=letters[1:])
    out[:] = letters[offsets[1:]] != letters[offsets[:-1]]
    rest = np.flatnonzero(~np.asarray(pc.string_is_ascii(values), dtype=bool))
    if len(rest):
        out[rest] = np.asarray(pc.match_substring_regex(values.take(pa.array(rest)), r"\pL"), dtype=bool)
    return out


class _Words:
    """Per-token figures of a batch, through its distinct tokens (a batch has ~10x fewer)."""

    def __init__(self, seg: Segments, stop_words: pa.Array):
        encoded = pc.dictionary_encode(seg.token_array())
        vocab = encoded.dictionary
        index = np.asarray(encoded.indices, dtype=np.int64)
        norm = pc.utf8_lower(pc.utf8_trim(vocab, PUNCTUATION))
        norm_len = np.asarray(pc.utf8_length(norm), dtype=np.int64)
        norm_ids = np.asarray(pc.dictionary_encode(norm).indices, dtype=np.int64)
        self.alpha = _has_letter(vocab)[index]
        self.stop = np.asarray(pc.fill_null(pc.index_in(norm, value_set=stop_words), -1), dtype=np.int64)[index]
        keep = norm_len[index] > 0
        kept = index[keep]
        self.words = Words(seg.doc[keep], norm_ids[kept], norm_len[kept])


@register_signal("heuristics", config=HeuristicsConfig, default=True)
class HeuristicsSignal(Signal):
    """Adds the heuristic columns listed in docs/signals.md (plain names, no prefix).

    Tokens, lines and paragraphs come from one byte-level segmentation of the batch
    (`curate/signals/text_bytes.py`); string work is done once per distinct token, and lines and
    paragraphs reach Arrow's substring and hashing kernels as zero-copy views of the batch buffer.
    """

    def __init__(self, cfg: HeuristicsConfig, ctx: SignalContext):
        self.cfg = cfg
        self._stop_words = pa.array(cfg.stop_words, pa.string())
        self._policy = "|".join(C4_POLICY_PHRASES)
        self._marker = "javascript|" + self._policy  # any phrase a line is searched for

    def columns(self, table: pa.Table) -> dict[str, pa.Array]:
        texts = text_array(table)
        n = len(texts)
        out: dict[str, pa.Array] = {}

        # tokens (whitespace-separated) and words (lower-case, punctuation trimmed)
        seg = segment(texts)
        buf = seg.buf
        tok = _Words(seg, self._stop_words)
        words = tok.words
        word_count = np.diff(seg.bounds)
        # `#`, `...` and `…` hold no whitespace, so counting them in the text counts them in the tokens
        hash_count, ellipsis_count = symbol_counts(buf)
        hashes, ellipses = hash_count.astype(np.float64), ellipsis_count.astype(np.float64)
        is_stop = tok.stop >= 0
        n_stop = max(len(self.cfg.stop_words), 1)
        stop_seen = np.zeros(n * n_stop, dtype=bool)  # (document, stop word) pairs present
        stop_seen[seg.doc[is_stop] * n_stop + tok.stop[is_stop]] = True

        out["word_count"] = pa.array(word_count, pa.int64())
        out["char_count"] = pa.array(np.asarray(pc.utf8_length(texts), dtype=np.int64), pa.int64())
        out["mean_word_length"] = pa.array(
            ratio(per_doc_sum(words.doc, n, words.length.astype(np.float64)), per_doc_sum(words.doc, n))
        )
        out["hash_to_word_ratio"] = pa.array(ratio(hashes, word_count))
        out["ellipsis_to_word_ratio"] = pa.array(ratio(ellipses, word_count))
        out["symbol_to_word_ratio"] = pa.array(ratio(hashes + ellipses, word_count))
        out["alpha_word_fraction"] = pa.array(ratio(_segment_sum(tok.alpha, seg.bounds), word_count))
        out["stop_word_count"] = pa.array(_segment_sum(is_stop, seg.bounds), pa.int64())
        out["stop_word_distinct"] = pa.array(stop_seen.reshape(n, n_stop).sum(axis=1, dtype=np.int64), pa.int64())

        # lines (split on \n, trimmed, blank lines dropped)
        lines = spans(seg, seg.line_starts())
        line_view = interleaved(buf, lines)
        line_len = buf.code_points_before(lines.end) - buf.code_points_before(lines.start)
        line_count = per_doc_sum(lines.doc, n)
        line_chars = per_doc_sum(lines.doc, n, line_len.astype(np.float64))

        def line_fraction(mask: np.ndarray) -> pa.Array:
            return pa.array(ratio(per_doc_sum(lines.doc[mask], n), line_count))

        # a line can only hold a phrase that its document holds: one pass over the documents, then
        # only the lines of the (few) documents holding one are searched
        marked = np.asarray(pc.match_substring_regex(texts, self._marker, ignore_case=True), dtype=bool)
        cand = np.flatnonzero(marked[lines.doc])
        cand_view = interleaved(buf, Spans(lines.start[cand], lines.end[cand], lines.doc[cand]))

        def line_matches(fn, *args, **kw) -> np.ndarray:
            found = np.zeros(len(lines), dtype=bool)
            if len(cand):
                found[cand] = np.asarray(fn(cand_view, *args, **kw), dtype=bool)[0::2]
            return found

        first_char = buf.code_point_at(lines.start)
        last_at = buf.last_char_start(lines.end)
        last_char = buf.code_point_at(last_at)
        d = buf.data
        dots = (lines.end - lines.start >= 3) & (d[lines.end - 1] == 46) & (d[lines.end - 2] == 46) & (d[np.maximum(lines.end - 3, 0)] == 46)
        js = line_matches(pc.match_substring, "javascript", ignore_case=True)
        policy = line_matches(pc.match_substring_regex, self._policy, ignore_case=True)
        repeated = _repeated_pieces(buf, lines)
        out["line_count"] = pa.array(line_count, pa.int64())
        out["max_line_length"] = pa.array(per_doc_max(lines.doc, line_len, n), pa.int64())
        out["bullet_line_fraction"] = line_fraction(_in_set(first_char, BULLETS))
        out["ellipsis_line_fraction"] = line_fraction(dots | (last_char == 0x2026))
        out["punct_end_line_fraction"] = line_fraction(_in_set(last_char, TERMINAL_PUNCTUATION))
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
        paras = spans(seg, seg.paragraph_starts())
        para_len = buf.code_points_before(paras.end) - buf.code_points_before(paras.start)
        para_count = per_doc_sum(paras.doc, n)
        para_rep = _repeated_pieces(buf, paras)
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
            gram_words = _Words(segment(pc.utf8_slice_codeunits(texts, 0, cap)), self._stop_words).words
        else:
            gram_words = words
        top, dup, total = ngram_char_stats(gram_words, n, self.cfg.top_ngram_sizes, self.cfg.dup_ngram_sizes)
        for size, chars in top.items():
            out[f"top_{size}gram_char_fraction"] = pa.array(ratio(chars, total))
        for size, chars in dup.items():
            out[f"duplicate_{size}gram_char_fraction"] = pa.array(ratio(chars, total))

        # boilerplate markers (C4)
        out["has_lorem_ipsum"] = pc.match_substring(texts, "lorem ipsum", ignore_case=True)
        out["has_curly_bracket"] = pa.array(docs_with_byte(buf, ord("{")), pa.bool_())
        return out


def _repeated_pieces(buf: Buffer, pieces: Spans) -> np.ndarray:
    """True for each piece (line, paragraph) equal to an earlier piece of its document.

    Only pieces sharing their document and byte length with another piece can be equal, and only
    those are hashed as strings (most lines of a document differ in length).
    """
    repeated = np.zeros(len(pieces), dtype=bool)
    if len(pieces) < 2:
        return repeated
    key = (pieces.doc.astype(np.uint64) << np.uint64(40)) | (pieces.end - pieces.start).astype(np.uint64)
    _, count = group_counts(key)
    cand = np.flatnonzero(count >= 2)
    if len(cand):
        same = Spans(pieces.start[cand], pieces.end[cand], pieces.doc[cand])
        repeated[cand] = _first_occurrence_mask(same.doc, _piece_ids(interleaved(buf, same)))
    return repeated


def _piece_ids(view: pa.Array) -> np.ndarray:
    """Ids of the pieces of an `interleaved` view: equal ids <=> equal strings."""
    return np.asarray(pc.dictionary_encode(view).indices, dtype=np.int64)[0::2]
