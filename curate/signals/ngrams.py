"""Repeated word n-grams of a batch (Gopher's `top_{n}gram` and `duplicate_{n}gram` figures) and the
sort-based grouping they rest on.

Words come as flat arrays (`curate.signals.text_stats.Words`). N-gram keys are 64-bit rolling
hashes of the document index and the word ids, built for every position at once as shifted
vectors. Each size is grouped with one SIMD sort (`repeated_groups`); an (n+1)-gram can only repeat
where its leading n-gram repeats, so after the first size only the repeating positions are carried
forward and the larger sizes cost little.
"""

from __future__ import annotations

import numpy as np

from curate.signals.minhash import splitmix64
from curate.signals.text_stats import Words, per_doc_sum

_K = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the rolling n-gram hash
_K2 = np.uint64(0x9E3779B97F4A7C15**2 % 2**64)  # _K * _K


def _mix64(x: np.ndarray) -> np.ndarray:
    """Small integer ids spread over 64 bits before they are combined: splitmix64 of id + golden ratio."""
    return splitmix64(x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15))


def repeated_groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(members, heads): the indices of the keys that occur at least twice, grouped by key (ascending
    index inside a group), and where each group starts in `members`.

    One SIMD `np.sort` does the work of a stable `argsort`: the index is packed into the low bits of
    the key, and after the sort only the repeated keys, usually a small part, are looked at. If two
    different keys share their high bits, which the packing would confuse, it falls back to a stable
    `argsort`.
    """
    m = len(keys)
    bits = max(int(m - 1).bit_length(), 1)
    low = np.uint64((1 << bits) - 1)
    packed = np.bitwise_and(keys, ~low)
    np.bitwise_or(packed, np.arange(m, dtype=np.uint64), out=packed)
    packed.sort()
    at, heads, inner = equal_neighbours((packed[1:] ^ packed[:-1]) <= low)
    members = (packed[at] & low).astype(np.int64)
    if len(members):
        grouped = keys[members]
        if np.any(grouped[1:][inner] != grouped[:-1][inner]):
            order = np.argsort(keys, kind="stable")
            ordered = keys[order]
            at, heads, _ = equal_neighbours(ordered[1:] == ordered[:-1])
            members = order[at]
    return members, heads


def equal_neighbours(same: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a sorted sequence where `same[i]` says items i and i + 1 are equal: the items equal to a
    neighbour (ascending), where their runs start among them, and for each of them but the first
    whether it continues the run of the one before."""
    if not len(same):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    member = np.empty(len(same) + 1, dtype=bool)  # equal to the item before or after
    member[0], member[-1] = same[0], same[-1]
    np.logical_or(same[:-1], same[1:], out=member[1:-1])
    at = np.flatnonzero(member)
    continues = same[at - 1] & (at > 0)  # equal to the item before
    return at, np.flatnonzero(~continues), continues[1:]


def ngram_char_stats(
    words: Words, n_docs: int, top_sizes: list[int], dup_sizes: list[int], total: np.ndarray | None = None
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], np.ndarray]:
    """Characters covered by repeated word n-grams, per document.

    Returns (top, dup, total): `top[n]` = characters covered by the occurrences of the most frequent
    n-gram (if it occurs at least twice; among equally frequent ones, the one covering most
    characters), `dup[n]` = characters covered by all occurrences of every n-gram that occurs at
    least twice, `total` = characters of all words (pass it if already known). A word covered by
    several occurrences counts once.

    N-gram keys are 64-bit rolling hashes of the document index and the word ids. Each size is
    grouped with one sort (`repeated_groups`) and everything after works on the repeated n-grams.
    """
    if total is None:
        total = per_doc_sum(words.doc, n_docs, words.length.astype(np.float64))
    top = {n: np.zeros(n_docs) for n in top_sizes}
    dup = {n: np.zeros(n_docs) for n in dup_sizes}
    sizes = sorted(set(top_sizes) | set(dup_sizes))
    if not sizes or len(words) == 0:
        return top, dup, total

    n0 = sizes[0]
    if len(words) < n0:
        return top, dup, total
    charcum = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(words.length, out=charcum[1:])
    word_hash = _mix64(np.arange(int(words.ids.max()) + 1))[words.ids]  # = _mix64(words.ids), mixed once per id
    doc = words.doc
    doc_after = np.r_[doc, np.full(sizes[-1], -1)]  # doc_after[i] = doc[i], -1 past the last word

    # keys of the smallest size at every start position, as shifted vectors; the doc index keeps
    # documents apart. Keys of n-grams running over a document end are taken out of the groups after
    # the first sort (they can only meet an n-gram of the document they start in).
    h = doc.astype(np.int64, copy=False).view(np.uint64) * _K2  # doc >= 0: the view reads the same values
    h += word_hash
    for k in range(1, n0):
        h = h[:-1] * _K + word_hash[k:]
    pos = None  # start positions still in play (ascending); None: all of them
    for n in range(n0, sizes[-1] + 1):
        if pos is not None:  # extend each (n-1)-gram by the next word, if the document has one
            fits = doc_after[pos + (n - 1)] == doc[pos]
            pos, h = pos[fits], h[fits]
            h = h * _K + word_hash[pos + n - 1]
            if len(pos) == 0:
                break
        members, heads = repeated_groups(h)
        if pos is None:
            members, heads = _inside_documents(members, heads, _crossing(doc, n_docs, n, len(h)))
        keep = np.sort(members)  # positions whose n-gram repeats, ascending
        kept = keep if pos is None else pos[keep]
        if n in dup:
            dup[n] = _covered_chars(kept, n, charcum, doc, n_docs)
        if n in top and len(members):
            top[n] = _top_gram_chars(members if pos is None else pos[members], heads, n, charcum, doc, n_docs)
        pos, h = kept, h[keep]
    return top, dup, total


def _crossing(doc: np.ndarray, n_docs: int, n: int, starts: int) -> np.ndarray:
    """For each of the first `starts` start positions, whether its n words run over a document end:
    those starting at most n - 2 words before the last word of a document that is not the last."""
    crossing = np.zeros(starts, dtype=bool)
    last = np.searchsorted(doc, np.arange(n_docs), side="right") - 1  # last word of each document (or before)
    for k in range(n - 1):
        at = last - k
        crossing[at[(at >= 0) & (at < starts)]] = True
    return crossing


def _inside_documents(members: np.ndarray, heads: np.ndarray, crossing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`repeated_groups` output less the members flagged in `crossing` (n-grams running over a
    document end), and less the groups left with fewer than two members."""
    over = np.flatnonzero(crossing[members])  # usually few or none
    if not len(over):
        return members, heads
    sizes = np.diff(np.r_[heads, len(members)])
    hit, removed = np.unique(np.searchsorted(heads, over, side="right") - 1, return_counts=True)
    dead = hit[sizes[hit] - removed < 2]  # groups left with fewer than two members
    stay = np.ones(len(members), dtype=bool)
    stay[over] = False
    if len(dead):
        lengths = sizes[dead]
        offsets = np.cumsum(lengths) - lengths
        stay[np.repeat(heads[dead] - offsets, lengths) + np.arange(int(lengths.sum()))] = False
    alive = np.ones(len(heads), dtype=bool)
    alive[dead] = False
    staying_before = np.cumsum(stay) - stay  # where each member lands once the others are gone
    return members[stay], staying_before[heads[alive]]


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
    starts: np.ndarray, heads: np.ndarray, n: int, charcum: np.ndarray, doc: np.ndarray, n_docs: int
) -> np.ndarray:
    """Characters covered by each document's most frequent n-gram (0 if no n-gram repeats).

    `starts` are the start positions of the n-grams that occur at least twice, grouped by n-gram
    (ascending inside a group), `heads` where each group begins.
    """
    out = np.zeros(n_docs)
    lengths = np.diff(np.r_[heads, len(starts)])
    group_doc = doc[starts[heads]]
    best = np.zeros(n_docs, dtype=np.int64)
    np.maximum.at(best, group_doc, lengths)
    prev_end = np.r_[-1, starts[:-1] + n]  # overlap with the previous occurrence of the same n-gram
    prev_end[heads] = -1
    covered = charcum[starts + n] - charcum[np.maximum(starts, prev_end)]
    per_gram = np.add.reduceat(covered, heads).astype(np.float64)
    top = lengths == best[group_doc]
    np.maximum.at(out, group_doc[top], per_gram[top])
    return out
