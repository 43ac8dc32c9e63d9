"""Heuristic quality signals in the spirit of Gopher (Rae et al. 2021), C4 (Raffel et al. 2020) and
FineWeb (Penedo et al. 2024): cheap per-document statistics that catch boilerplate, lists, spam and
repetition. Only the statistics are computed here; thresholds live in the select stage, so an
ablation can move them without re-annotating. Every column is defined in docs/signals.md.

The whole batch is processed at once: tokens, lines and paragraphs are byte ranges of the batch's
one UTF-8 buffer found with numpy (`curate/signals/text_bytes.py`), string work (lower-casing,
trimming punctuation, the letter test) runs once per distinct token, and per-document figures are
numpy reductions over the flat pieces. Repeated n-grams are found with one sort of 64-bit n-gram
hashes per size (`curate/signals/ngrams.py`); the phrase regexes run only on the documents whose
tokens hold the phrases' letters (`curate/signals/phrase_clues.py`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator

from curate.signals.base import Signal, SignalContext, register_signal
from curate.signals.ngrams import ngram_char_stats, repeated_groups
from curate.signals.phrase_clues import (
    LOREM_CLUES,
    MARKER_CLUES,
    all_clues,
    clue_bits,
    search_docs,
)
from curate.signals.text_bytes import (
    Buffer,
    Segments,
    Spans,
    char_counts,
    copied_strings,
    count_per_doc,
    segment,
    spans,
    string_parts,
    symbol_counts,
)
from curate.signals.text_stats import (
    PUNCTUATION,
    Words,
    per_doc_max,
    per_doc_sum,
    ratio,
    text_array,
)

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


def _segment_sum(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sum of integer `values` over each slice bounds[i]:bounds[i + 1] (int64)."""
    out = np.zeros(len(bounds) - 1, dtype=np.int64)
    some = np.flatnonzero(bounds[1:] > bounds[:-1])  # reduceat needs non-empty slices
    if len(some):
        out[some] = np.add.reduceat(values, bounds[some], dtype=np.int64)
    return out


def _in_set(codes: np.ndarray, chars: str) -> np.ndarray:
    return np.isin(codes, np.array([ord(c) for c in chars], dtype=np.int64))


def _has_letter(values: pa.Array) -> np.ndarray:
    """True for each string holding a letter (`\\pL`): ASCII letters are found on the bytes, and only
    the non-ASCII strings without one go through Arrow's regex."""
    out = np.zeros(len(values), dtype=bool)
    if not len(values):
        return out
    offsets, data = string_parts(values)
    letters = np.zeros(len(data) + 1, dtype=np.int32 if len(data) < 2**31 else np.int64)
    np.cumsum((np.bitwise_or(data, np.uint8(32)) - np.uint8(97)) < 26, out=letters[1:])
    out[:] = letters[offsets[1:]] != letters[offsets[:-1]]
    rest = np.flatnonzero(~out & ~np.asarray(pc.string_is_ascii(values), dtype=bool))
    if len(rest):
        out[rest] = np.asarray(pc.match_substring_regex(values.take(pa.array(rest)), r"\pL"), dtype=bool)
    return out


class _Words:
    """Per-token figures of a batch, through its distinct tokens (a batch has ~10x fewer) and their
    distinct words (lower-cased, punctuation trimmed)."""

    def __init__(self, seg: Segments, stop_words: pa.Array):
        index, vocab = seg.token_vocabulary()
        self.index, self.vocab = index, vocab
        encoded = pc.dictionary_encode(pc.utf8_lower(pc.utf8_trim(vocab, PUNCTUATION)))
        word_of = np.asarray(encoded.indices, dtype=np.int64)  # vocab entry -> word id
        word_len = np.asarray(pc.utf8_length(encoded.dictionary), dtype=np.int64)
        stop_of = np.asarray(pc.fill_null(pc.index_in(encoded.dictionary, value_set=stop_words), -1))
        self.alpha = _has_letter(vocab)[index]
        self.stop = stop_of.astype(np.int8 if len(stop_words) < 128 else np.int64)[word_of][index]
        word_of[word_len[word_of] == 0] = -1  # a token of punctuation only is no word
        token_word = word_of[index]
        keep = token_word >= 0
        ids = token_word[keep]
        self.words = Words(seg.doc[keep], ids, word_len[ids])


@register_signal("heuristics", config=HeuristicsConfig, default=True)
class HeuristicsSignal(Signal):
    """Adds the heuristic columns listed in docs/signals.md (plain names, no prefix).

    Tokens, lines and paragraphs come from one byte-level segmentation of the batch
    (`curate/signals/text_bytes.py`); string work is done once per distinct token (tokens are told
    apart by their bytes read as 64-bit words), and only the few lines and paragraphs that can match
    (a phrase, an equal piece) are copied out for Arrow's substring and hashing kernels.
    """

    def __init__(self, cfg: HeuristicsConfig, ctx: SignalContext):
        self.cfg = cfg
        self._stop_words = pa.array(cfg.stop_words, pa.string())
        self._policy = "|".join(C4_POLICY_PHRASES)
        self._marker = "javascript|" + self._policy  # any phrase a line is searched for
        self._clues = all_clues()

    def columns(self, table: pa.Table) -> dict[str, pa.Array]:
        texts = text_array(table)
        n = len(texts)
        out: dict[str, pa.Array] = {}

        # tokens (whitespace-separated) and words (lower-case, punctuation trimmed)
        seg = segment(texts, marks=b"#.{")
        buf = seg.buf
        tok = _Words(seg, self._stop_words)
        words = tok.words
        word_count = np.diff(seg.bounds)
        # `#`, `...` and `…` hold no whitespace, so counting them in the text counts them in the tokens
        marks = seg.marked
        hash_count, ellipsis_count = symbol_counts(buf, marks[ord("#")], marks[ord(".")], seg.leads)
        hashes, ellipses = hash_count.astype(np.float64), ellipsis_count.astype(np.float64)
        is_stop = tok.stop >= 0
        n_stop = max(len(self.cfg.stop_words), 1)
        stop_seen = np.zeros(n * n_stop, dtype=bool)  # (document, stop word) pairs present
        stop_seen[seg.doc[is_stop] * n_stop + tok.stop[is_stop]] = True

        out["word_count"] = pa.array(word_count, pa.int64())
        char_count = np.asarray(pc.utf8_length(texts), dtype=np.int64)
        word_chars = per_doc_sum(words.doc, n, words.length.astype(np.float64))
        out["char_count"] = pa.array(char_count, pa.int64())
        out["mean_word_length"] = pa.array(ratio(word_chars, per_doc_sum(words.doc, n)))
        out["hash_to_word_ratio"] = pa.array(ratio(hashes, word_count))
        out["ellipsis_to_word_ratio"] = pa.array(ratio(ellipses, word_count))
        out["symbol_to_word_ratio"] = pa.array(ratio(hashes + ellipses, word_count))
        out["alpha_word_fraction"] = pa.array(ratio(_segment_sum(tok.alpha, seg.bounds), word_count))
        out["stop_word_count"] = pa.array(_segment_sum(is_stop, seg.bounds), pa.int64())
        out["stop_word_distinct"] = pa.array(stop_seen.reshape(n, n_stop).sum(axis=1, dtype=np.int64), pa.int64())

        # lines (split on \n, trimmed, blank lines dropped)
        lines = spans(seg, seg.line_starts())
        line_len = char_counts(buf, lines)
        line_count = per_doc_sum(lines.doc, n)
        line_chars = per_doc_sum(lines.doc, n, line_len.astype(np.float64))

        def line_fraction(mask: np.ndarray) -> pa.Array:
            return pa.array(ratio(per_doc_sum(lines.doc[mask], n), line_count))

        # a line can only hold a phrase that its document holds: one pass over the documents, then
        # only the lines of the (few) documents holding one are searched
        clues = clue_bits(tok.vocab, tok.index, seg.bounds, self._clues)
        marked = search_docs(texts, self._marker, MARKER_CLUES, clues, self._clues)
        cand = np.flatnonzero(marked[lines.doc])
        cand_lines = copied_strings(buf, lines.start[cand], lines.end[cand])

        def line_matches(fn, *args, **kw) -> np.ndarray:
            found = np.zeros(len(lines), dtype=bool)
            if len(cand):
                found[cand] = np.asarray(fn(cand_lines, *args, **kw), dtype=bool)
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
        para_len = char_counts(buf, paras)
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
        sizes = (self.cfg.top_ngram_sizes, self.cfg.dup_ngram_sizes)
        if cap and n and int(char_count.max()) > cap:
            gram_words = _Words(segment(pc.utf8_slice_codeunits(texts, 0, cap)), self._stop_words).words
            top, dup, total = ngram_char_stats(gram_words, n, *sizes)
        else:
            top, dup, total = ngram_char_stats(words, n, *sizes, total=word_chars)
        for size, chars in top.items():
            out[f"top_{size}gram_char_fraction"] = pa.array(ratio(chars, total))
        for size, chars in dup.items():
            out[f"duplicate_{size}gram_char_fraction"] = pa.array(ratio(chars, total))

        # boilerplate markers (C4)
        out["has_lorem_ipsum"] = pa.array(search_docs(texts, "lorem ipsum", LOREM_CLUES, clues, self._clues), pa.bool_())
        out["has_curly_bracket"] = pa.array(count_per_doc(buf, marks[ord("{")]) > 0, pa.bool_())
        return out


def _repeated_pieces(buf: Buffer, pieces: Spans) -> np.ndarray:
    """True for each piece (line, paragraph) equal to an earlier piece of its document.

    Only pieces sharing their document and byte length with another piece can be equal, and only
    those are copied out and hashed as strings (most lines of a document differ in length).
    """
    repeated = np.zeros(len(pieces), dtype=bool)
    if len(pieces) < 2:
        return repeated
    key = (pieces.doc.astype(np.uint64) << np.uint64(40)) | (pieces.end - pieces.start).astype(np.uint64)
    cand = np.sort(repeated_groups(key)[0])
    if len(cand):
        same = Spans(pieces.start[cand], pieces.end[cand], pieces.doc[cand])
        ids = np.asarray(pc.dictionary_encode(copied_strings(buf, same.start, same.end)).indices, dtype=np.int64)
        members, heads = repeated_groups((same.doc.astype(np.uint64) << np.uint64(32)) | ids.astype(np.uint64))
        later = np.ones(len(members), dtype=bool)
        later[heads] = False  # the first (lowest index) piece of each group is not a repeat
        repeated[cand[members[later]]] = True
    return repeated
