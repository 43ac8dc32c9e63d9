"""Which documents of a batch can hold a phrase searched for in any case (C4's `javascript` and
policy phrases, `lorem ipsum`), decided on the batch's distinct tokens, so that the regex then runs
only over those documents instead of the whole text.

A case-insensitive match (Arrow's `ignore_case`, RE2 simple case folding) of a phrase lies in
whitespace-separated tokens, each word of the phrase inside one token. So a document can only match
if its tokens contain certain letter sequences of the phrase ("clues"). Clues avoid `k` and `s`,
the only ASCII letters that fold together with non-ASCII characters (KELVIN SIGN, LONG S), or spell
both forms; every other ASCII letter matches only itself in either case, so setting bit 0x20 of
every byte (which maps upper- to lower-case ASCII letters and no other byte onto a letter) finds a
clue exactly where a case-insensitive search would. A false clue only costs a regex run.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.signals.text_bytes import string_parts

# For each phrase pattern: sets of clues; a document can only match if its tokens hold every clue of
# one set (the regex runs on those documents only). `^clue`: at the start of a token, `clue$`: at
# its end. LONG S (U+017F) stands for the `s` it folds with.
MARKER_CLUES = (
    ("java",),  # javascript
    ("vacy$",),  # privacy policy
    ("^coo",),  # uses cookies, use of cookies, use cookies
    ("coo", "^pol"),  # cookie policy
    ("terms$", "^use"),  # terms of use
    ("terms$", "^u\u017fe"),
    ("term\u017f$", "^use"),
    ("term\u017f$", "^u\u017fe"),
)
LOREM_CLUES = (("lorem$", "^ipsu"), ("lorem$", "^ip\u017fu"))


def clue_bits(vocab: pa.Array, index: np.ndarray, bounds: np.ndarray, clues: list[str]) -> np.ndarray:
    """For each document, bit i set (uint32) when one of its tokens holds `clues[i]` in any ASCII case.

    `vocab` are the batch's distinct tokens, `index` the vocab entry of each token, `bounds` the
    first token of each document (and one past the last). The clues are searched once over the
    vocabulary's bytes: one pass finds the bytes that can begin a clue, and each clue is checked
    there.
    """
    offsets, data = string_parts(vocab)
    patterns = [np.frombuffer(c.strip("^$").encode(), dtype=np.uint8) | np.uint8(0x20) for c in clues]
    folded = np.zeros(len(data) + max(len(p) for p in patterns), dtype=np.uint8)  # zeros: reads past the end
    np.bitwise_or(data, np.uint8(0x20), out=folded[: len(data)])
    begin = []  # where the first two bytes of some clue are, read as little-endian uint16 at even and odd bytes
    for parity in (0, 1):
        pairs = folded[parity : parity + 2 * (max(len(data) - parity, 0) // 2)].view("<u2")
        hit = np.zeros(len(pairs), dtype=bool)
        for code in {int(p[0]) | int(p[1]) << 8 for p in patterns}:
            hit |= pairs == code
        begin.append(2 * np.flatnonzero(hit) + parity)
    begin = np.concatenate(begin)
    vocab_bits = np.zeros(len(vocab), dtype=np.uint32)
    for bit, (clue, pattern) in enumerate(zip(clues, patterns)):
        at = begin
        for k in range(len(pattern)):
            at = at[folded[at + k] == pattern[k]]
        entry = np.searchsorted(offsets, at, side="right") - 1
        if clue.startswith("^"):
            entry = entry[at == offsets[entry]]
        elif clue.endswith("$"):
            entry = entry[at + len(pattern) == offsets[entry + 1]]
        vocab_bits[entry] |= np.uint32(1 << bit)  # a match running over an entry's end is a harmless false clue
    hit = np.flatnonzero((vocab_bits != 0)[index])  # the (few) tokens holding a clue
    doc_bits = np.zeros(len(bounds) - 1, dtype=np.uint32)
    np.bitwise_or.at(doc_bits, np.searchsorted(bounds, hit, side="right") - 1, vocab_bits[index[hit]])
    return doc_bits


def search_docs(texts: pa.Array, pattern: str, clue_sets: tuple[tuple[str, ...], ...], doc_bits: np.ndarray, clues: list[str]) -> np.ndarray:
    """`match_substring_regex(texts, pattern, ignore_case=True)` as a bool array, the regex run only on
    the documents holding every clue of one of `clue_sets` (the others cannot match)."""
    maybe = np.zeros(len(texts), dtype=bool)
    for clue_set in clue_sets:
        need = np.uint32(sum(1 << clues.index(c) for c in clue_set))
        maybe |= (doc_bits & need) == need
    found = np.zeros(len(texts), dtype=bool)
    at = np.flatnonzero(maybe)
    if len(at):
        found[at] = np.asarray(pc.match_substring_regex(texts.take(pa.array(at)), pattern, ignore_case=True), dtype=bool)
    return found


def all_clues() -> list[str]:
    """The distinct clues of `MARKER_CLUES` and `LOREM_CLUES`, in a fixed order (bit i = clue i)."""
    return list(dict.fromkeys(c for sets in (MARKER_CLUES, LOREM_CLUES) for s in sets for c in s))
