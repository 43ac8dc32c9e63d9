"""Benchmark decontamination: find training documents that share word n-grams with evaluation items.

The method is GPT-3's: normalize (NFKC, lowercase, every run of non letters/digits -> one space),
split into words, and call a document contaminated when it contains any n-gram (n = 13 by default)
of an evaluation item. An item shorter than n words is matched as one gram of all its words, if it
has at least `min_words` (shorter items match too much ordinary text and are skipped, and counted).

Bounded memory: evaluation sets are small, so every item's n-grams are hashed into a sorted
`uint64` array (`EvalIndex`, a few MB even for tens of thousands of items) that is built once and
saved beside the run; the corpus streams through in Arrow batches and each batch's n-gram hashes
are looked up in a 4 MB presence table on their top bits, and only the few that pass it with
`np.searchsorted`. Words are hashed by tabulation (as the MinHash signal
does: one gather and one XOR-reduce per batch) and n-grams by a seeded linear combination of n word
hashes mixed by splitmix64, all in numpy: no Python loop per document or per word.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.decontam.config import EvalSetConfig
from curate.errors import ConfigError, InputError
from curate.signals.minhash import splitmix64

_TAB_POSITIONS = 64
_BYTES_PER_CHUNK = 8 << 20  # normalized corpus bytes hashed at once (bounds the temporaries)
_HASH_SEED = 0x6465636F6E74616D  # "decontam": fixed, so an index file is valid for any run seed
_FILTER_BITS = 22  # a 4 MB presence table on the top hash bits: most corpus n-grams skip the binary search


# ---- normalization and hashing ---------------------------------------------------------------


def normalize(texts) -> pa.LargeStringArray:
    """NFKC, lowercase, runs of anything but letters/digits/marks -> one space, trimmed."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), type=pa.large_string())
    t = pc.fill_null(texts.cast(pa.large_string()), "")
    t = pc.utf8_lower(pc.utf8_normalize(t, form="NFKC"))
    t = pc.replace_substring_regex(t, pattern=r"[^\p{L}\p{N}\p{M}]+", replacement=" ")
    return pc.utf8_trim(t, characters=" ")


class GramHasher:
    """Word and n-gram hashes of normalized text; fixed constants, so hashes agree across processes."""

    def __init__(self, max_n: int = 64):
        rng = np.random.default_rng(_HASH_SEED)
        full = np.iinfo(np.uint64).max
        self.table = rng.integers(0, full, size=(_TAB_POSITIONS, 256), dtype=np.uint64, endpoint=True)
        self.table[:, 32] = 0
        self.mult = rng.integers(0, full, size=max_n, dtype=np.uint64, endpoint=True) | np.uint64(1)

    def words(self, norm: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(hash of every word, words per document) for normalized text."""
        n = len(norm)
        norm = norm.cast(pa.large_string())
        offs = np.frombuffer(norm.buffers()[1], dtype=np.int64)[norm.offset : norm.offset + n + 1]
        buf = norm.buffers()[2]
        data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
        base = int(offs[0])
        b = data[base : int(offs[-1])]
        rel = (offs - base).astype(np.int64)
        if b.size == 0:
            return np.zeros(0, np.uint64), np.zeros(n, np.int64)
        is_space = b == 32
        starts = ~is_space
        starts[1:] &= is_space[:-1]
        doc_starts = rel[:-1][rel[:-1] < rel[1:]]
        starts[doc_starts] = True  # normalized documents never start with a space
        word_starts = np.flatnonzero(starts)
        per_doc = np.diff(np.searchsorted(word_starts, rel))
        last = np.zeros(b.size, dtype=np.int64)
        last[word_starts] = word_starts
        np.maximum.accumulate(last, out=last)
        idx = np.arange(b.size, dtype=np.int64) - last
        idx &= _TAB_POSITIONS - 1
        idx <<= 8
        idx |= b
        return np.bitwise_xor.reduceat(self.table.reshape(-1)[idx], word_starts), per_doc

    def grams(self, words: np.ndarray, per_doc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(hash of every k-gram, its document index); documents with fewer than k words give none."""
        n_g = np.maximum(per_doc - k + 1, 0)
        total = int(n_g.sum())
        if total == 0:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64)
        word_off = np.concatenate(([0], np.cumsum(per_doc)))[:-1]
        g_off = np.concatenate(([0], np.cumsum(n_g)))[:-1]
        doc = np.repeat(np.arange(per_doc.size), n_g)
        start = word_off[doc] + (np.arange(total) - g_off[doc])
        acc = np.zeros(total, dtype=np.uint64)
        for t in range(k):
            acc += words[start + t] * self.mult[t]
        return splitmix64(acc), doc


# ---- evaluation items -------------------------------------------------------------------------


@dataclass
class EvalItems:
    set_name: list[str]
    item_id: list[str]
    text: list[str]
    file: list[str]
    line: list[int]


def _expand(pattern: str, root: Path) -> list[Path]:
    import glob

    p = Path(pattern)
    full = p if p.is_absolute() else root / p
    if full.is_dir():
        return sorted(q for q in full.rglob("*") if q.is_file())
    return [Path(m) for m in sorted(glob.glob(str(full))) if Path(m).is_file()]


def _records(path: Path) -> Iterator[tuple[int, dict]]:
    name = path.name
    if name.endswith(".parquet"):
        for i, row in enumerate(pq.read_table(path).to_pylist(), 1):
            yield i, row
        return
    from curate.io.readers import open_maybe_compressed

    with open_maybe_compressed(path) as fh:
        for i, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"evaluation item is not valid JSON ({exc})", where=f"{path}:{i}",
                                 fix="an evaluation set is JSONL (one object per line) or Parquet") from None
            if not isinstance(rec, dict):
                raise InputError("evaluation item is not a JSON object", where=f"{path}:{i}")
            yield i, rec


def read_eval_sets(sets: list[EvalSetConfig], root: Path) -> EvalItems:
    items = EvalItems([], [], [], [], [])
    for es in sets:
        files = [f for pat in es.paths for f in _expand(pat, root)]
        if not files:
            raise ConfigError(f"evaluation set `{es.name}` matches no file: {es.paths}", where=f"decontam.eval_sets[{es.name}].paths",
                              fix="paths are relative to the working directory (like sources); check the glob")
        k = 0
        for f in files:
            for line, rec in _records(f):
                missing = [fl for fl in es.fields if fl not in rec]
                if missing:
                    raise InputError(f"evaluation item has no field(s) {missing} (it has {sorted(rec)[:8]})", where=f"{f}:{line}",
                                     fix=f"set decontam.eval_sets[{es.name}].fields to the item's text fields")
                parts = []
                for fl in es.fields:
                    v = rec[fl]
                    parts.extend(str(x) for x in v) if isinstance(v, list) else parts.append("" if v is None else str(v))
                items.set_name.append(es.name)
                items.item_id.append(str(rec.get(es.id_field)) if es.id_field and rec.get(es.id_field) is not None else str(k))
                items.text.append(" ".join(parts))
                items.file.append(str(f))
                items.line.append(line)
                k += 1
    return items


# ---- the index -------------------------------------------------------------------------------


def _same_arrays(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """True when the `.npz` at `path` holds exactly these arrays (names, dtypes, values)."""
    try:
        with np.load(path) as z:
            return sorted(z.files) == sorted(arrays) and all(
                z[k].dtype == v.dtype and np.array_equal(z[k], v) for k, v in arrays.items())
    except (OSError, ValueError, KeyError):
        return False


@dataclass
class EvalIndex:
    """Sorted n-gram hashes of every item (per gram length) and the item each hash came from."""

    n: int
    lengths: np.ndarray  # gram lengths present: n, plus the word counts of short items
    hashes: dict[int, np.ndarray]  # length -> sorted uint64
    items: dict[int, np.ndarray]  # length -> int32 item index, parallel to hashes
    item_words: np.ndarray  # words per item
    skipped: np.ndarray  # bool: item too short to match

    @classmethod
    def build(cls, texts: list[str], n: int, min_words: int, hasher: GramHasher | None = None) -> "EvalIndex":
        hasher = hasher or GramHasher()
        words, per = hasher.words(normalize(pa.array(texts, pa.large_string())))
        gram_len = np.where(per >= n, n, per)
        skipped = per < min(n, min_words)
        hashes: dict[int, list] = {}
        items: dict[int, list] = {}
        for k in sorted(set(gram_len[~skipped].tolist())):
            use = ~skipped & (gram_len == k)
            # words of the items that take k-grams, in item order
            keep_words = np.repeat(use, per)
            h, doc = hasher.grams(words[keep_words], np.where(use, per, 0), k)
            hashes[k], items[k] = h, doc.astype(np.int32)
        out_h, out_i = {}, {}
        for k in hashes:
            order = np.lexsort((items[k], hashes[k]))
            out_h[k], out_i[k] = hashes[k][order], items[k][order]
        return cls(n=n, lengths=np.array(sorted(out_h), dtype=np.int64), hashes=out_h, items=out_i, item_words=per, skipped=skipped)

    def save(self, path: Path) -> None:
        arrays = {"n": np.array([self.n]), "lengths": self.lengths, "item_words": self.item_words, "skipped": self.skipped}
        for k in self.hashes:
            arrays[f"h{k}"] = self.hashes[k]
            arrays[f"i{k}"] = self.items[k]
        from curate.io.atomic import atomic_path

        if _same_arrays(path, arrays):  # a resumed run rebuilt the same index: leave the file (and its mtime) alone
            return
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: Path) -> "EvalIndex":
        z = np.load(path)
        lengths = z["lengths"]
        return cls(n=int(z["n"][0]), lengths=lengths, hashes={int(k): z[f"h{k}"] for k in lengths},
                   items={int(k): z[f"i{k}"] for k in lengths}, item_words=z["item_words"], skipped=z["skipped"])

    def prefilter(self, k: int) -> np.ndarray:
        """bool table over the top `_FILTER_BITS` bits of the k-gram hashes present (built on first use)."""
        cache = self.__dict__.setdefault("_filters", {})
        if k not in cache:
            table = np.zeros(1 << _FILTER_BITS, dtype=bool)
            table[self.hashes[k] >> np.uint64(64 - _FILTER_BITS)] = True
            cache[k] = table
        return cache[k]

    @property
    def num_grams(self) -> int:
        return int(sum(h.size for h in self.hashes.values()))


@dataclass
class Matches:
    """Per document: matching n-grams; and the distinct (document, item) pairs that matched."""

    counts: np.ndarray  # int64 per document
    pair_doc: np.ndarray  # int64
    pair_item: np.ndarray  # int32


def match(texts, index: EvalIndex, hasher: GramHasher | None = None) -> Matches:
    """Look every n-gram of every document up in the index (chunks of whole documents, bounded memory)."""
    hasher = hasher or GramHasher()
    norm = normalize(texts)
    n = len(norm)
    counts = np.zeros(n, np.int64)
    pd, pi = [], []
    offs = np.frombuffer(norm.buffers()[1], dtype=np.int64)[norm.offset : norm.offset + n + 1]
    lo = 0
    while lo < n:
        hi = int(np.searchsorted(offs, offs[lo] + _BYTES_PER_CHUNK, side="right")) - 1
        hi = min(max(hi, lo + 1), n)
        words, per = hasher.words(norm.slice(lo, hi - lo))
        for k in index.lengths.tolist():
            g, doc = hasher.grams(words, per, k)
            if g.size == 0:
                continue
            maybe = np.flatnonzero(index.prefilter(k)[g >> np.uint64(64 - _FILTER_BITS)])
            if maybe.size == 0:
                continue
            g, doc = g[maybe], doc[maybe]
            eh = index.hashes[k]
            left = np.searchsorted(eh, g, side="left")
            right = np.searchsorted(eh, g, side="right")
            hit = right > left
            if not hit.any():
                continue
            counts[lo:hi] += np.bincount(doc[hit], minlength=hi - lo)
            # every item behind each matching hash (a hash may belong to several items)
            l, r, d = left[hit], right[hit], doc[hit] + lo
            span = r - l
            rows = np.repeat(l, span) + (np.arange(int(span.sum())) - np.repeat(np.cumsum(span) - span, span))
            pd.append(np.repeat(d, span))
            pi.append(index.items[k][rows])
        lo = hi
    if pd:
        pairs = np.unique(np.stack([np.concatenate(pd), np.concatenate(pi).astype(np.int64)], axis=1), axis=0)
        return Matches(counts, pairs[:, 0], pairs[:, 1].astype(np.int32))
    return Matches(counts, np.zeros(0, np.int64), np.zeros(0, np.int32))
