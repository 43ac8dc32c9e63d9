"""Byte-level segmentation of a batch: tokens, lines and paragraphs as byte ranges of the batch's
one flat UTF-8 buffer, found with numpy instead of Arrow's split kernels.

A token is a maximal run of non-whitespace bytes inside one document. Whitespace is the set
Arrow's `utf8_split_whitespace` and `utf8_trim_whitespace` use (ASCII 9-13 and 28-32, U+0085,
U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000); none of those code points
shares a byte with another character, so a byte mask over the buffer finds them exactly.

Lines and paragraphs are groups of consecutive tokens: a trimmed line (paragraph) starts at the
first byte of its first token and ends after its last token, and a blank one holds no token. So
only the gaps between tokens need looking at:

* a new line starts at a token when a `\\n` lies between it and the previous token of its document;
* a new paragraph starts when the gap holds a paragraph break, i.e. a match of `\\n[\\s\\p{Z}]*\\n`:
  two `\\n` with only RE2 `\\s` (tab, `\\n`, form feed, `\\r`, space) or `\\p{Z}` characters
  between them. Vertical tab, 28-31 and U+0085 are whitespace but not in that class, so they keep
  two newlines apart.

Distinct tokens are found without hashing strings (`Segments.token_vocabulary`). Pieces reach
Arrow string kernels either copied out (`copied_strings`, for the few a substring or hashing kernel
must see) or in place (`interleaved`: one string array over the shared buffer whose even entries
are the pieces and odd entries the gaps between them, for kernels as cheap as counting characters).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# (lead byte, second byte range, third byte range) of the non-ASCII whitespace code points
_WS3 = (
    (0xE1, (0x9A, 0x9A), (0x80, 0x80)),  # U+1680
    (0xE2, (0x80, 0x80), (0x80, 0x8A)),  # U+2000-U+200A
    (0xE2, (0x80, 0x80), (0xA8, 0xA9)),  # U+2028, U+2029
    (0xE2, (0x80, 0x80), (0xAF, 0xAF)),  # U+202F
    (0xE2, (0x81, 0x81), (0x9F, 0x9F)),  # U+205F
    (0xE3, (0x80, 0x80), (0x80, 0x80)),  # U+3000
)
_PAD = 8  # zero bytes after the buffer so that reading a few bytes past any position is safe
# masks keeping the first k bytes of a little-endian 64-bit word, k = 0..8
_FIRST_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)


@dataclass(frozen=True)
class Buffer:
    """The batch's text bytes (documents back to back, `_PAD` zero bytes after) and document offsets."""

    data: np.ndarray  # uint8, len = offsets[-1] + _PAD
    offsets: np.ndarray  # int64, n_docs + 1, offsets[0] == 0
    ascii: bool  # no byte >= 0x80

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def code_point_at(self, pos: np.ndarray) -> np.ndarray:
        """The code point starting at each byte position."""
        d = self.data
        cp = d[pos].astype(np.int64)
        if self.ascii or not len(pos):
            return cp
        multi = np.flatnonzero(cp >= 0x80)
        if len(multi):
            p, b0 = pos[multi], cp[multi]
            b1 = d[p + 1].astype(np.int64) & 0x3F
            b2 = d[p + 2].astype(np.int64) & 0x3F
            b3 = d[p + 3].astype(np.int64) & 0x3F
            cp[multi] = np.where(
                b0 < 0xE0,
                ((b0 & 0x1F) << 6) | b1,
                np.where(b0 < 0xF0, ((b0 & 0x0F) << 12) | (b1 << 6) | b2, ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3),
            )
        return cp

    def last_char_start(self, end: np.ndarray) -> np.ndarray:
        """Byte position of the last character before each (exclusive) end position."""
        pos = end - 1
        if self.ascii:
            return pos
        for _ in range(3):
            pos = np.where((self.data[pos] & 0xC0) == 0x80, pos - 1, pos)
        return pos


def string_parts(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a (large_)string array without nulls: int64 offsets starting at 0 and a
    uint8 view (no copy) of the strings' bytes back to back."""
    n = len(values)
    bufs = values.buffers()
    wide = pa.types.is_large_string(values.type)
    raw = np.frombuffer(bufs[1], dtype=np.int64 if wide else np.int32)[values.offset : values.offset + n + 1]
    offsets = raw.astype(np.int64)
    start, stop = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(bufs[2], dtype=np.uint8)[start:stop] if stop > start else np.zeros(0, dtype=np.uint8)
    return offsets - start, data


def flat_buffer(texts: pa.Array) -> Buffer:
    """The bytes of a (large_)string array without nulls, as one numpy buffer."""
    offsets, body = string_parts(texts)
    data = np.zeros(len(body) + _PAD, dtype=np.uint8)
    data[: len(body)] = body
    body = data[: len(body)]
    return Buffer(data, offsets, not (len(body) and int(body.max()) >= 0x80))


def whitespace_masks(
    buf: Buffer, marks: bytes = b""
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """(non_space, breakers, controls, leads, marked): a bool per byte, False where the byte is part
    of a whitespace character, with one False added before the first byte and after the last (so
    `non_space[p + 1]` is byte p); the sorted positions of the whitespace characters outside
    `[\\s\\p{Z}]` (vertical tab, 28-31, U+0085), which interrupt a paragraph break; the sorted
    positions of the bytes below 32 (newlines, tabs, NUL, ...); those of the bytes from 0xC2 (the
    first bytes of the characters of 2 to 4 bytes); those of each printable ASCII byte of `marks`.

    The space is the only common whitespace byte: the other ASCII ones are control bytes, found in
    one pass (with the lead bytes and the marks) and sorted out there, as are the lead bytes that
    can begin a non-ASCII whitespace."""
    d = buf.data[: buf.size]
    non_space = np.zeros(buf.size + 2, dtype=bool)
    np.not_equal(d, 32, out=non_space[1:-1])
    # below 32, or from 0xC2 (uint8 wraps: 0-31 -> 224-255, 0xC2-0xFF -> 162-223)
    if buf.ascii:
        rare = d < 32
    else:
        shifted = d - np.uint8(32)
        rare = np.greater_equal(shifted, 162, out=shifted.view(bool))  # in place: same layout as uint8
    scratch = np.empty(len(d), dtype=bool)  # one temporary for the marks
    for v in marks:
        rare |= np.equal(d, v, out=scratch)
    at = np.flatnonzero(rare)
    found = d[at]
    marked = {v: at[found == v] for v in marks}
    control = found < 32
    controls, code = at[control], found[control]
    non_space[1 + controls[((code - np.uint8(9)) < 5) | (code >= 28)]] = False  # 9-13, 28-31 (wraps below 9)
    breakers = controls[(code == 11) | (code >= 28)]
    if buf.ascii:
        return non_space, breakers, controls, controls[:0], marked
    leads = at[found >= 0xC2]  # first bytes of the characters of 2 to 4 bytes
    b0 = d[leads]
    lead = leads[(b0 == 0xC2) | ((b0 - np.uint8(0xE1)) < 3)]
    if len(lead):
        b0, b1, b2 = d[lead], buf.data[lead + 1], buf.data[lead + 2]
        two = (b0 == 0xC2) & ((b1 == 0x85) | (b1 == 0xA0))
        three = np.zeros(len(lead), dtype=bool)
        for first, (lo1, hi1), (lo2, hi2) in _WS3:
            three |= (b0 == first) & (b1 >= lo1) & (b1 <= hi1) & (b2 >= lo2) & (b2 <= hi2)
        for width, hit in ((2, two), (3, three)):
            at = lead[hit]
            for k in range(width):
                non_space[1 + at + k] = False
        nel = lead[two & (b1 == 0x85)]
        if len(nel):
            breakers = np.sort(np.concatenate((breakers, nel)))
    return non_space, breakers, controls, leads, marked


@dataclass(frozen=True)
class Segments:
    """Tokens of a batch as byte ranges, and how they group into lines and paragraphs."""

    buf: Buffer
    starts: np.ndarray  # int64 byte position of each token's first byte
    ends: np.ndarray  # int64 one past each token's last byte
    doc: np.ndarray  # int64 document of each token (non-decreasing)
    bounds: np.ndarray  # int64 n_docs + 1: tokens of document i are bounds[i]:bounds[i + 1]
    breakers: np.ndarray  # see whitespace_masks
    controls: np.ndarray  # sorted positions of the bytes below 32
    leads: np.ndarray  # sorted positions of the bytes from 0xC2 (first bytes of multi-byte characters)
    marked: dict[int, np.ndarray]  # sorted positions of each byte asked for by `segment(marks=...)`

    @property
    def n_docs(self) -> int:
        return len(self.bounds) - 1

    def doc_first(self) -> np.ndarray:
        """True for each token that is the first of its document."""
        first = np.zeros(len(self.starts), dtype=bool)
        b = self.bounds[:-1][np.diff(self.bounds) > 0]
        first[b] = True
        return first

    def token_vocabulary(self) -> tuple[np.ndarray, pa.Array]:
        """(ids, vocab): an int64 id per token, equal ids <=> equal tokens, and `vocab[id]` the token.

        A token of up to 16 bytes without a NUL byte is keyed by its bytes read as two little-endian
        64-bit words, the bytes past its end zeroed (no byte of such a token is zero, so the words
        also tell its length). A token of up to 8 bytes (most of them) is keyed by its first word, a
        longer one by the ids of its two words. The keys go through Arrow's integer hashing, much
        cheaper than hashing strings; only tokens over 16 bytes (or holding NUL) are copied out and
        hashed as strings.
        """
        buf = self.buf
        lengths = self.ends - self.starts
        data = buf.data if len(buf.data) >= buf.size + 8 else np.r_[buf.data, np.zeros(8, np.uint8)]
        words = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))  # 8 bytes at each byte
        keys = words[self.starts]
        keys &= _FIRST_BYTES[np.minimum(lengths, 8)]
        longer = np.flatnonzero(lengths > 8)
        as_string = lengths[longer] > 16
        nul = self.controls[data[self.controls] == 0]
        if len(nul):  # a NUL byte is never whitespace, so it lies in the last token starting before it
            with_nul = np.unique(np.searchsorted(self.starts, nul, side="right") - 1)
            longer = np.union1d(longer, with_nul)
            as_string = (lengths[longer] > 16) | np.isin(longer, with_nul)
        two, rest = longer[~as_string], longer[as_string]  # keyed by two words, hashed as strings
        two_first = keys[two]
        keys[longer] = 0  # 0 is no one-word token's key (its first byte is not 0)
        encoded = _encode(keys)
        ids = np.asarray(encoded.indices, dtype=np.int64)
        parts = [_word_strings(np.asarray(encoded.dictionary)[:, None])]
        offset = len(encoded.dictionary)
        if len(two):
            pair_ids, table = encode_pairs(two_first, words[self.starts[two] + 8] & _FIRST_BYTES[lengths[two] - 8])
            ids[two] = offset + pair_ids
            parts.append(_word_strings(table))
            offset += len(table)
        if len(rest):
            rest_encoded = pc.dictionary_encode(self.token_strings(rest))
            ids[rest] = offset + np.asarray(rest_encoded.indices, dtype=np.int64)
            parts.append(rest_encoded.dictionary.cast(pa.string()))
        return ids, pa.concat_arrays(parts) if len(parts) > 1 else parts[0]

    def token_strings(self, which: np.ndarray) -> pa.Array:
        """The tokens at the (ascending) indices `which` as one string array (bytes copied)."""
        return copied_strings(self.buf, self.starts[which], self.ends[which])

    @cached_property
    def newlines(self) -> tuple[np.ndarray, np.ndarray]:
        """Byte positions of the `\\n`s, and for each the index of the first token after it (a newline
        is never inside a token)."""
        at = self.controls[self.buf.data[self.controls] == 10]
        return at, np.searchsorted(self.starts, at)

    def line_starts(self) -> np.ndarray:
        """True for each token that begins a line (a `\\n` since the document's previous token)."""
        first = self.doc_first()
        if len(self.starts) > 1:
            after = self.newlines[1]  # the token after each newline begins a line
            first[after[after < len(first)]] = True
        return first

    def paragraph_starts(self) -> np.ndarray:
        """True for each token that begins a paragraph (a paragraph break since the previous token)."""
        first = self.doc_first()
        newlines, after = self.newlines
        if len(newlines) < 2 or not len(self.starts):
            return first
        # linked: no token, no breaker and no document start between two consecutive newlines
        linked = after[:-1] == after[1:]
        barriers = np.searchsorted(np.union1d(self.breakers, self.buf.offsets[1:-1]), newlines, side="right")
        linked &= barriers[:-1] == barriers[1:]
        nxt = after[:-1][linked]  # the token after the break (maybe next document's)
        first[nxt[nxt < len(self.starts)]] = True
        return first


def copied_strings(buf: Buffer, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """The byte ranges [starts, ends) of the buffer as one string array (their bytes copied)."""
    lengths = ends - starts
    heads = np.cumsum(lengths) - lengths
    at = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - heads, lengths)
    return _string_array(lengths, buf.data[at])


def _string_array(lengths: np.ndarray, values: np.ndarray) -> pa.Array:
    """A string array from each string's byte length and all their bytes back to back."""
    wide = len(values) >= 2**31 - 1
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64 if wide else np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(
        pa.large_string() if wide else pa.string(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(values)]
    )


def _encode(keys: np.ndarray) -> pa.DictionaryArray:
    """Arrow dictionary encoding of uint64 keys (indices in order of first appearance)."""
    return pc.dictionary_encode(pa.array(keys, pa.uint64()))


def encode_pairs(w0: np.ndarray, w1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the uint64 pairs (w0[i], w1[i]), equal ids <=> equal pairs, and the distinct pairs as
    rows (in id order). The pairs are mixed into one 64-bit key for Arrow's integer hashing and
    every pair is then checked against the first pair given its id; should two different pairs share
    a key, they are encoded exactly, each word first."""
    key = w0 * np.uint64(0x9E3779B97F4A7C15)
    key ^= key >> np.uint64(29)
    key += w1
    key *= np.uint64(0xBF58476D1CE4E5B9)
    key ^= key >> np.uint64(32)
    ids = np.asarray(_encode(key).indices, dtype=np.int64)
    seen = np.maximum.accumulate(ids)  # ids are given in order of first appearance
    first = np.flatnonzero(np.r_[True, seen[1:] > seen[:-1]])
    table = np.stack((w0[first], w1[first]), axis=1)
    if np.array_equal(table[ids, 0], w0) and np.array_equal(table[ids, 1], w1):
        return ids, table
    return encode_pairs_exactly(w0, w1)


def encode_pairs_exactly(w0: np.ndarray, w1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`encode_pairs` without hashing: each word is encoded, then the pair of the two word ids."""
    words0, words1 = _encode(w0), _encode(w1)
    pairs = _encode((np.asarray(words0.indices).astype(np.uint64) << np.uint64(32)) | np.asarray(words1.indices).astype(np.uint64))
    pair_keys = np.asarray(pairs.dictionary)
    table = np.stack(
        (
            np.asarray(words0.dictionary)[pair_keys >> np.uint64(32)],
            np.asarray(words1.dictionary)[pair_keys & np.uint64(0xFFFFFFFF)],
        ),
        axis=1,
    )
    return np.asarray(pairs.indices, dtype=np.int64), table


def _word_strings(table: np.ndarray) -> pa.Array:
    """Strings from rows of little-endian uint64 words holding their bytes, zero bytes left out."""
    raw = table.astype("<u8", copy=False).view(np.uint8).reshape(len(table), 8 * table.shape[1])
    present = raw != 0
    return _string_array(np.count_nonzero(present, axis=1), raw[present])


def count_per_doc(buf: Buffer, positions: np.ndarray) -> np.ndarray:
    """How many of the (sorted) byte positions fall in each document (int64)."""
    return np.diff(np.searchsorted(positions, buf.offsets)).astype(np.int64)


def symbol_counts(
    buf: Buffer, hashes_at: np.ndarray, dots_at: np.ndarray, leads: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(`#` count, ellipsis count) per document, from the positions of `#`, `.` and the bytes from
    0xC2, where the ellipsis count is the non-overlapping occurrences of `...` plus those of `…`, as
    `count_substring` would give them."""
    hashes = count_per_doc(buf, hashes_at)
    dots = dots_at
    ellipses = np.zeros(len(buf.offsets) - 1, dtype=np.int64)
    if len(dots) >= 3:
        # runs of consecutive dots, cut at document starts; a run of k dots holds k // 3 of `...`
        dot_doc = np.searchsorted(buf.offsets, dots, side="right") - 1
        new_run = np.ones(len(dots), dtype=bool)
        new_run[1:] = (dots[1:] != dots[:-1] + 1) | (dot_doc[1:] != dot_doc[:-1])
        heads = np.flatnonzero(new_run)
        runs = np.diff(np.r_[heads, len(dots)]) // 3
        full = runs > 0
        if full.any():
            run_doc = dot_doc[heads[full]]
            ellipses += np.bincount(run_doc, weights=runs[full], minlength=len(ellipses)).astype(np.int64)
    if len(leads):
        e2 = leads[buf.data[leads] == 0xE2]
        hit = e2[(buf.data[e2 + 1] == 0x80) & (buf.data[e2 + 2] == 0xA6)]  # U+2026
        ellipses += count_per_doc(buf, hit)
    return hashes, ellipses


def segment(texts: pa.Array, marks: bytes = b"") -> Segments:
    """Tokens of every document of `texts` (a (large_)string array without nulls); the positions of
    the printable ASCII bytes of `marks` are found in the same pass (`Segments.marked`)."""
    buf = flat_buffer(texts)
    padded, breakers, controls, leads, marked = whitespace_masks(buf, marks)
    size = buf.size
    # position p (0..size) starts a token when byte p is not whitespace and byte p - 1 is (or p
    # starts a document), and ends one in the mirror case; the buffer is taken as padded with spaces
    before, at = padded[:-1], padded[1:]  # byte p - 1, byte p not whitespace
    cut = np.zeros(size + 1, dtype=bool)  # document starts: a run of non-space bytes ends there too
    cut[buf.offsets[1:-1]] = True
    edge = np.logical_not(before)  # one temporary, reused in place
    edge |= cut
    edge &= at
    starts = np.flatnonzero(edge)
    np.logical_not(at, out=edge)
    edge |= cut
    edge &= before
    ends = np.flatnonzero(edge)
    bounds = np.searchsorted(starts, buf.offsets).astype(np.int64)
    doc = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(bounds))
    return Segments(buf, starts, ends, doc, bounds, breakers, controls, leads, marked)


@dataclass(frozen=True)
class Spans:
    """Pieces (lines or paragraphs) as byte ranges [start, end) of the batch buffer."""

    start: np.ndarray
    end: np.ndarray
    doc: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def spans(seg: Segments, first: np.ndarray) -> Spans:
    """The pieces that begin at the tokens flagged in `first` and run to the next flagged token."""
    head = np.flatnonzero(first)
    last = np.r_[head[1:], len(first)][: len(head)] - 1
    return Spans(seg.starts[head], seg.ends[last], seg.doc[head])


def interleaved(buf: Buffer, pieces: Spans) -> pa.Array:
    """A string array over the batch buffer: entry 2i is piece i, entry 2i+1 the gap after it."""
    m = len(pieces)
    if m == 0:
        return pa.array([], pa.string())
    wide = buf.size >= 2**31 - 1
    offsets = np.empty(2 * m, dtype=np.int64 if wide else np.int32)
    offsets[0::2] = pieces.start
    offsets[1::2] = pieces.end
    return pa.Array.from_buffers(
        pa.large_string() if wide else pa.string(),
        2 * m - 1,
        [None, pa.py_buffer(offsets), pa.py_buffer(buf.data)],
    )


def char_counts(buf: Buffer, pieces: Spans) -> np.ndarray:
    """Characters (code points) of each piece (int64): its byte length for ASCII, else Arrow's
    `utf8_length` of the pieces viewed in place."""
    if buf.ascii or not len(pieces):
        return pieces.end - pieces.start
    return np.asarray(pc.utf8_length(interleaved(buf, pieces)), dtype=np.int64)[0::2]
