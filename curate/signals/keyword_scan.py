"""Batch kernels of the keyword signal: the scan text of a batch and the per-match filters.

Everything here works on whole batches with numpy; Python runs per batch, per distinct non-ASCII
character next to a match, and per match only where matches overlap.

* `scan_text` folds whitespace on the UTF-8 bytes of the (lower-cased, NFC) batch: every run of
  whitespace becomes one space and runs at either end of a document go, exactly as splitting on
  Unicode whitespace and joining with spaces would (Arrow's `utf8_split_whitespace` and Python's
  `str.split` agree on the set: ASCII 9-13, 28-32 and the Unicode spaces below). The few documents
  holding a non-ASCII space take Arrow's split-and-join first. Documents are joined by "\n", which
  folded text never holds, into the one UTF-8 buffer the automaton scans (bytes, never a Python
  string: a term's UTF-8 matches only at character boundaries, so byte matches are the character
  matches).
* `word_chars` answers "does this code point continue a word" for an array of code points.
* `leftmost_longest` picks non-overlapping matches; only clusters of overlapping matches are walked in
  Python.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.signals.text_bytes import Buffer

_PAD = 4  # zero bytes after the scan bytes: decoding a character never reads past the array
# Unicode whitespace outside ASCII (U+0085 NEL, no-break, Ogham, en/em/thin spaces, line/paragraph
# separators, narrow no-break, math space, ideographic space).
_UNICODE_SPACE = r"[\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"


def ascii_space(data: np.ndarray) -> np.ndarray:
    """True for each byte (uint8) that is ASCII whitespace: 9-13 and 28-32 (two range tests, which
    numpy runs much faster than a 256-entry table lookup)."""
    return ((data - np.uint8(9)) < 5) | ((data - np.uint8(28)) < 5)


_UNSPACED_SCRIPTS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x31FF),  # Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana
    (0x20000, 0x3FFFF),  # CJK extensions B+
)


@lru_cache(maxsize=None)
def is_spaced_word_char(ch: str) -> bool:
    """True for letters, digits, `_` and combining marks of scripts that separate words by spaces."""
    cp = ord(ch)
    if cp < 128:
        return ch.isalnum() or ch == "_"
    if any(lo <= cp <= hi for lo, hi in _UNSPACED_SCRIPTS):
        return False
    return ch.isalnum() or unicodedata.category(ch)[0] == "M"


_ASCII_WORD = np.array([is_spaced_word_char(chr(c)) for c in range(128)], dtype=bool)


def word_chars(codes: np.ndarray) -> np.ndarray:
    """`is_spaced_word_char` of each code point in `codes` (any integer dtype)."""
    codes = np.asarray(codes, dtype=np.int64)
    out = np.zeros(len(codes), dtype=bool)
    ascii_ = codes < 128
    out[ascii_] = _ASCII_WORD[codes[ascii_]]
    rest = np.flatnonzero(~ascii_)
    if len(rest):
        distinct, inverse = np.unique(codes[rest], return_inverse=True)
        flags = np.array([is_spaced_word_char(chr(c)) for c in distinct.tolist()], dtype=bool)
        out[rest] = flags[inverse]
    return out


def _split_join(values: pa.Array) -> pa.Array:
    joined = pc.binary_join(pc.utf8_split_whitespace(values), pa.scalar(" ", values.type))
    return pc.utf8_trim(joined, " ")


@dataclass(frozen=True)
class ScanText:
    """A batch as the automaton scans it: UTF-8 bytes, "\n" + doc0 + "\n" + doc1 + ... + "\n"."""

    data: np.ndarray  # uint8: the scanned bytes, then `_PAD` zero bytes (safe reads past the end)
    doc_start: np.ndarray  # byte position of each document's first byte
    words: np.ndarray  # whitespace-separated words per document

    def haystack(self) -> memoryview:
        """The scanned bytes (without the padding), as the automaton takes them."""
        return memoryview(self.data[: len(self.data) - _PAD])

    def _buffer(self) -> Buffer:
        ascii_ = not bool(self.data.max(initial=0) >= 0x80)
        return Buffer(self.data, np.array([0, len(self.data) - _PAD]), ascii_)

    def code_before(self, pos: np.ndarray) -> np.ndarray:
        """The code point that ends just before each byte position (a character start, >= 1)."""
        buf = self._buffer()
        return buf.code_point_at(buf.last_char_start(pos))

    def code_at(self, pos: np.ndarray) -> np.ndarray:
        """The code point starting at each byte position."""
        return self._buffer().code_point_at(pos)


def fold_whitespace(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Every run of Unicode whitespace as one space, none at either end (= split, then join by " "),
    and the number of spaces left in each document."""
    n = len(values)
    non_ascii = np.asarray(pc.invert(pc.string_is_ascii(values)), dtype=bool)
    if non_ascii.any():
        special = np.zeros(n, dtype=bool)
        special[non_ascii] = np.asarray(
            pc.match_substring_regex(values.filter(pa.array(non_ascii)), _UNICODE_SPACE), dtype=bool
        )
        if special.any():
            mask = pa.array(special)
            values = pc.replace_with_mask(values, mask, _split_join(values.filter(mask)))
    # now only ASCII whitespace is left; trimmed documents start and end with a non-space byte, so in
    # their concatenation a space byte is dropped exactly when the byte before it is a space too
    values = pc.utf8_trim_whitespace(values)
    if values.offset:
        values = pa.concat_arrays([values])
    bufs = values.buffers()
    wide = pa.types.is_large_string(values.type)
    offsets = np.frombuffer(bufs[1], dtype=np.int64 if wide else np.int32)[: n + 1].astype(np.int64)
    if bufs[2] is None or offsets[-1] == offsets[0]:
        return values, np.zeros(n, dtype=np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    offsets = offsets - offsets[0]
    ws = ascii_space(data)
    extra = ws[1:] & ws[:-1]  # a space byte right after another: dropped
    if extra.any():
        drop = np.flatnonzero(extra) + 1
        keep = np.ones(len(data), dtype=bool)
        keep[drop] = False
        folded = np.where(ws, np.uint8(32), data)[keep]
        dropped = np.bincount(np.searchsorted(offsets, drop, side="right") - 1, minlength=n)
        offsets = np.concatenate(([0], np.cumsum(np.diff(offsets) - dropped)))
    elif np.any(ws & (data != 32)):
        folded = np.where(ws, np.uint8(32), data)
    else:
        folded = data
    spaces = np.diff(np.searchsorted(np.flatnonzero(folded == 32), offsets)).astype(np.int64)
    if folded is not data:
        values = pa.Array.from_buffers(
            values.type, n, [None, pa.py_buffer(offsets.astype(np.int64 if wide else np.int32)), pa.py_buffer(folded)]
        )
    return values, spaces


def scan_text(values: pa.Array) -> ScanText:
    """Fold whitespace in `values` (already NFC and case-folded as wanted) and join the documents."""
    folded, spaces = fold_whitespace(values)
    n = len(folded)
    nbytes = np.asarray(pc.binary_length(folded), dtype=np.int64)
    words = spaces + (nbytes > 0)
    doc_start = 1 + np.concatenate(([0], np.cumsum(nbytes + 1)[:-1]))
    if pa.types.is_large_string(folded.type):
        lists = pa.LargeListArray.from_arrays(pa.array([0, n], pa.int64()), folded)
    else:
        lists = pa.ListArray.from_arrays(pa.array([0, n], pa.int32()), folded)
    body = np.zeros(0, dtype=np.uint8)
    if n:
        joined = pc.binary_join(lists, pa.scalar("\n", folded.type))
        size = int(pc.binary_length(joined)[0].as_py())
        if size:
            body = np.frombuffer(joined.buffers()[2], dtype=np.uint8)[:size]
    data = np.zeros(len(body) + 2 + _PAD, dtype=np.uint8)
    data[0] = data[len(body) + 1] = 10
    data[1 : len(body) + 1] = body
    return ScanText(data, doc_start.astype(np.int64), words.astype(np.int64))


def leftmost_longest(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Indices of the non-overlapping matches a left-to-right, longest-first scan keeps.

    `ends` are inclusive. Ties in start go to the longer match; a match is kept if it starts after
    the end of the last kept one. A match that starts after every earlier match has ended is always
    kept; the sequential walk only visits the others.
    """
    if len(starts) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-(ends - starts), starts))
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    clean = np.empty(len(s), dtype=bool)
    clean[0] = True
    clean[1:] = s[1:] > reach[:-1]
    keep = clean.copy()
    tangled = np.flatnonzero(~clean)
    if len(tangled):
        leader = np.maximum.accumulate(np.where(clean, np.arange(len(s)), 0))
        last_end, group = -1, -1
        for j, ld, sj, ej in zip(tangled.tolist(), leader[tangled].tolist(), s[tangled].tolist(), e[tangled].tolist()):
            if ld != group:
                group, last_end = ld, int(e[ld])
            if sj > last_end:
                keep[j] = True
                last_end = ej
    return order[keep]
