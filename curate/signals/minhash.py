"""Dedup keys: a hash of the normalized text (exact duplicates) and a MinHash signature (near duplicates).

Why this shape: the dedup stage is global and must stay cheap, so everything per-document is
computed once here, during annotation, in vectorized numpy over whole Arrow batches:

1. normalize with pyarrow.compute (NFKC, lowercase, punctuation runs -> one space, trim), so the
   normalized text is exactly the document's words joined by single spaces;
2. `dedup_hash` = xxh3-64 of those normalized bytes (one native call per document, seeded);
3. word hashes by *tabulation hashing* over (position-in-word, byte) pairs: a gather from a seeded
   random table and an XOR-reduce per word — no Python loop over words;
4. shingle hashes = a seeded linear combination of `shingle_size` consecutive word hashes, mixed by
   a 64-bit finalizer and cut to 32 bits;
5. `num_perm` permutations by multiply-add-shift universal hashing, h_i(x) = (a_i*x + b_i) >> 32
   with 64-bit odd a_i and 64-bit b_i, applied to blocks of shingles as one (shingles x num_perm)
   numpy product, and a `minimum.reduceat` per document.

Documents with no word after normalization get a signature of all 0xFFFFFFFF (no shingle), which
the dedup stage skips. Every random constant comes from the run seed, so the same input and seed
give byte-identical columns in any process.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from pydantic import BaseModel, ConfigDict, Field

from curate.schema import TEXT
from curate.signals.base import Signal, SignalContext, register_signal

HASH_COLUMN = "dedup_hash"
MINHASH_COLUMN = "minhash"
EMPTY = np.uint32(0xFFFFFFFF)  # signature value of a document without any shingle

_TAB_POSITIONS = 64  # tabulation table rows: byte positions within a word (wrapping after 64)
_SHINGLE_BLOCK = 8192  # shingles per (num_perm x block) product: 8 MB of uint64 at 128 perms
_BYTES_PER_CHUNK = 4 << 20  # normalized text bytes processed at once (bounds the temporaries)


class DedupKeysConfig(BaseModel):
    """`annotate.dedup_keys`: how documents are normalized, shingled and signed."""

    model_config = ConfigDict(extra="forbid")

    shingle_size: int = Field(default=5, ge=1, le=64, description="words per shingle")
    num_perm: int = Field(default=128, ge=8, le=1024, description="MinHash permutations (signature length)")
    lowercase: bool = True
    strip_punctuation: bool = Field(default=True, description="treat every run of non letters/digits as one space")
    unicode_nfkc: bool = Field(default=True, description="NFKC-normalize first (ligatures, full-width forms)")
    signatures: bool | None = Field(default=None, description=(
        "compute the `minhash` signatures; default (null): when the pipeline's dedup looks for near duplicates "
        "(`dedup.near`), since exact dedup reads only `dedup_hash`"))


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer, in place on a uint64 array: spreads every input bit over the output."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def xxh3_each(data, offsets: np.ndarray, seed: int = 0) -> np.ndarray:
    """xxh3-64 of each byte range offsets[i]:offsets[i + 1] of `data` (any buffer: a numpy array, an
    Arrow buffer), one native call per range."""
    mv = memoryview(data) if data is not None else memoryview(b"")
    h = xxhash.xxh3_64_intdigest
    return np.fromiter((h(mv[s:e], seed) for s, e in zip(offsets[:-1].tolist(), offsets[1:].tolist())), dtype=np.uint64,
                       count=len(offsets) - 1)


@register_signal("dedup_keys", config=DedupKeysConfig)
class MinHashSignal(Signal):
    """Adds `dedup_hash` (uint64) and `minhash` (fixed_size_list<uint32>[num_perm], unless `signatures`
    is false) to a batch."""

    def __init__(self, cfg: DedupKeysConfig, ctx: SignalContext):
        self.cfg = cfg
        rng = np.random.default_rng([int(ctx.seed) & 0xFFFFFFFFFFFFFFFF, 0x6D696E68])  # "minh": own stream
        full = np.iinfo(np.uint64).max
        self.table = rng.integers(0, full, size=(_TAB_POSITIONS, 256), dtype=np.uint64, endpoint=True)
        self.table[:, 32] = 0  # spaces between words add nothing to the XOR of the word before them
        self.shingle_mult = rng.integers(0, full, size=cfg.shingle_size, dtype=np.uint64, endpoint=True) | np.uint64(1)
        self.perm_a = rng.integers(0, full, size=cfg.num_perm, dtype=np.uint64, endpoint=True) | np.uint64(1)
        self.perm_b = rng.integers(0, full, size=cfg.num_perm, dtype=np.uint64, endpoint=True)
        self.hash_seed = int(rng.integers(0, full, dtype=np.uint64, endpoint=True))
        self.type = pa.list_(pa.uint32(), cfg.num_perm)

    # ---- normalization ----
    def normalize(self, text: pa.Array | pa.ChunkedArray) -> pa.LargeStringArray:
        """Normalized text: the document's words joined by single spaces (the exact-dedup key)."""
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        t = text.cast(pa.large_string()).fill_null("")
        if self.cfg.unicode_nfkc:
            t = pc.utf8_normalize(t, form="NFKC")
        if self.cfg.lowercase:
            t = pc.utf8_lower(t)
        pattern = r"[^\p{L}\p{N}\p{M}]+" if self.cfg.strip_punctuation else r"\s+"
        t = pc.replace_substring_regex(t, pattern=pattern, replacement=" ")
        return pc.utf8_trim(t, characters=" ")

    # ---- the signal ----
    def columns(self, table: pa.Table) -> dict[str, pa.Array]:
        norm = self.normalize(table.column(TEXT))
        n = len(norm)
        offsets = np.frombuffer(norm.buffers()[1], dtype=np.int64)[norm.offset : norm.offset + n + 1]
        data = np.frombuffer(norm.buffers()[2], dtype=np.uint8) if norm.buffers()[2] is not None else np.zeros(0, np.uint8)
        hashes = self._exact_hashes(data, offsets)
        if self.cfg.signatures is False:
            return {HASH_COLUMN: pa.array(hashes, type=pa.uint64())}
        sig = np.full((n, self.cfg.num_perm), EMPTY, dtype=np.uint32)
        lo = 0
        while lo < n:  # chunks of whole documents holding at most _BYTES_PER_CHUNK bytes (or one big doc)
            hi = int(np.searchsorted(offsets, offsets[lo] + _BYTES_PER_CHUNK, side="right")) - 1
            hi = min(max(hi, lo + 1), n)
            self._signatures(data, offsets[lo : hi + 1], sig[lo:hi])
            lo = hi
        minhash = pa.FixedSizeListArray.from_arrays(pa.array(sig.reshape(-1), type=pa.uint32()), self.cfg.num_perm)
        return {HASH_COLUMN: pa.array(hashes, type=pa.uint64()), MINHASH_COLUMN: minhash}

    def empty_hash(self) -> int:
        """`dedup_hash` of a document with no words (empty or all whitespace/punctuation): every
        normalization leaves it empty, so it is the hash of no bytes."""
        return xxhash.xxh3_64_intdigest(b"", self.hash_seed)

    def _exact_hashes(self, data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """xxh3-64 of each normalized document: one native call per document (not per word)."""
        return xxh3_each(data, offsets, self.hash_seed)

    def _word_hashes(self, data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tabulation hash of every word in data[offsets[0]:offsets[-1]]; returns (hashes, words per doc).

        Each byte looks up table[position-in-word % 64, byte] (the space byte's entries are 0) and a
        word's hash is the XOR over its bytes: one gather and one `bitwise_xor.reduceat` per chunk.
        """
        base = int(offsets[0])
        b = data[base : int(offsets[-1])]
        rel = (offsets - base).astype(np.int64)
        if b.size == 0:
            return np.zeros(0, np.uint64), np.zeros(len(rel) - 1, np.int64)
        is_space = b == 32
        starts_mask = ~is_space
        starts_mask[1:] &= is_space[:-1]  # a word starts after a space ...
        doc_starts = rel[:-1][rel[:-1] < rel[1:]]
        starts_mask[doc_starts] = True  # ... or at a document start (normalized docs never start with a space)
        word_starts = np.flatnonzero(starts_mask)
        words_per_doc = np.diff(np.searchsorted(word_starts, rel))
        last_start = np.zeros(b.size, dtype=np.int32)
        last_start[word_starts] = word_starts
        np.maximum.accumulate(last_start, out=last_start)
        idx = np.arange(b.size, dtype=np.int32)
        idx -= last_start  # position within the word
        idx &= _TAB_POSITIONS - 1
        idx <<= 8
        idx |= b
        # chunks start at a document start, which is a word start: reduceat covers every byte
        words = np.bitwise_xor.reduceat(self.table.reshape(-1)[idx], word_starts)
        return words, words_per_doc

    def _shingle_hashes(self, words: np.ndarray, words_per_doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """32-bit hash of each shingle (k consecutive words; a shorter doc is one shingle of all its words)."""
        k = self.cfg.shingle_size
        n_sh = np.where(words_per_doc >= k, words_per_doc - k + 1, (words_per_doc > 0).astype(np.int64))
        word_off = np.concatenate(([0], np.cumsum(words_per_doc)))
        sh_doc_start = np.concatenate(([0], np.cumsum(n_sh)))
        total = int(sh_doc_start[-1])
        start = np.repeat(word_off[:-1], n_sh) + (np.arange(total, dtype=np.int64) - np.repeat(sh_doc_start[:-1], n_sh))
        end = np.repeat(word_off[1:], n_sh)
        acc = np.zeros(total, dtype=np.uint64)
        last = max(words.size - 1, 0)
        for t in range(k):
            i = start + t
            term = words[np.minimum(i, last)] * self.shingle_mult[t]
            acc += np.where(i < end, term, np.uint64(0))
        return splitmix64(acc) >> np.uint64(32), n_sh

    def _signatures(self, data: np.ndarray, offsets: np.ndarray, out: np.ndarray) -> None:
        """Fill `out` (docs x num_perm, pre-set to EMPTY) with the min over each doc's shingles."""
        words, wpd = self._word_hashes(data, offsets)
        shingles, n_sh = self._shingle_hashes(words, wpd)
        if shingles.size == 0:
            return
        doc_of = np.repeat(np.arange(len(n_sh)), n_sh)
        doc_first = (np.cumsum(n_sh) - n_sh)[n_sh > 0]  # first shingle of each doc that has one
        # (num_perm x block) layout: the per-document min runs along contiguous rows (5x faster than axis 0)
        buf = np.empty((self.cfg.num_perm, _SHINGLE_BLOCK), dtype=np.uint64)
        a = self.perm_a[:, None]
        b = self.perm_b[:, None]
        for s in range(0, shingles.size, _SHINGLE_BLOCK):
            x = shingles[s : s + _SHINGLE_BLOCK]
            h = buf[:, : x.size]
            np.multiply(a, x[None, :], out=h)
            h += b
            h >>= np.uint64(32)
            # segments: block start plus every document start inside the block
            inner = doc_first[(doc_first > s) & (doc_first < s + x.size)] - s
            seg = np.concatenate(([0], inner))
            docs = doc_of[s + seg]
            mins = np.minimum.reduceat(h, seg, axis=1).T.astype(np.uint32)
            out[docs] = np.minimum(out[docs], mins)
