"""Megatron-LM indexed dataset files (`NAME.bin` + `NAME.idx`): writer and memory-mapped reader.

Why this format: it is what Megatron-LM, NeMo and GPT-NeoX read directly, so our shards are the
hand-off to any GPU trainer without conversion. Layout:

    NAME.bin   token ids of every sequence, back to back, in the index's dtype
    NAME.idx   b"MMIDIDX\\x00\\x00"            9-byte magic
               <Q version (1)
               <B dtype code (4 = int32, 8 = uint16; Megatron's other codes are read too)
               <Q sequence count  n
               <Q document count  m  (= n + 1: one sequence per document)
               int32[n] sizes (tokens per sequence)
               int64[n] byte pointers (offset of each sequence in .bin)
               int64[m] document indices [0, 1, ..., n]

The writer streams: tokens go to the .bin as they arrive (bounded memory); only the per-sequence
sizes are kept. Both files are written under temp names and renamed on `finalize()`, so a killed
run never leaves a half shard under its final name. The `.idx` is the commit point: `finalize()`
lands the `.bin` first and the `.idx` last (removing an older `.idx` of the same name before the new
`.bin` replaces its data), so a final-named index always describes the `.bin` beside it; a kill in
between leaves a `.bin` without an index, which readers treat as absent.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import Sequence

import numpy as np

from curate.errors import CurateError
from curate.io.atomic import tmp_path

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
HEADER = struct.Struct("<9sQBQQ")  # magic, version, dtype code, sequence count, document count

# Megatron-LM's codes (megatron/core/datasets/indexed_dataset.py DType enum).
DTYPE_CODES: dict[int, np.dtype] = {
    1: np.dtype(np.uint8),
    2: np.dtype(np.int8),
    3: np.dtype(np.int16),
    4: np.dtype(np.int32),
    5: np.dtype(np.int64),
    6: np.dtype(np.float64),
    7: np.dtype(np.float32),
    8: np.dtype(np.uint16),
}
CODE_OF = {dt: code for code, dt in DTYPE_CODES.items()}

# Megatron's own rule: uint16 while the vocabulary leaves headroom below 65,536, else int32.
UINT16_VOCAB_LIMIT = 65_500


def dtype_for_vocab(vocab_size: int) -> np.dtype:
    """uint16 when every id fits with headroom (vocab < 65,500), else int32 (e.g. a 131,072 vocab)."""
    if vocab_size <= 0:
        raise CurateError(f"vocabulary size must be positive, got {vocab_size}")
    return np.dtype(np.uint16) if vocab_size < UINT16_VOCAB_LIMIT else np.dtype(np.int32)


def paths_of(prefix: Path | str) -> tuple[Path, Path]:
    """(`prefix.bin`, `prefix.idx`); `prefix` may also be given with either suffix."""
    p = Path(prefix)
    if p.suffix in (".bin", ".idx"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".bin"), p.with_name(p.name + ".idx")


class MegatronWriter:
    """Streams sequences (one per document) into `prefix.bin/.idx`.

    The caller appends EOS to each document before `add` (the tokenizer knows the id); the writer
    only checks ids fit the dtype. `finalize()` returns paths, counts and the .bin's sha256.
    """

    def __init__(self, prefix: Path | str, dtype: np.dtype | type):
        self.dtype = np.dtype(dtype)
        if self.dtype not in CODE_OF:
            raise CurateError(f"unsupported token dtype {self.dtype}", fix="use uint16 (vocab < 65,500) or int32")
        self.path_bin, self.path_idx = paths_of(prefix)
        self.path_bin.parent.mkdir(parents=True, exist_ok=True)
        self._tmp_bin = tmp_path(self.path_bin)
        self._fh = open(self._tmp_bin, "wb")
        self._sha = hashlib.sha256()
        self._sizes: list[np.ndarray] = []
        self._tokens = 0
        self._closed = False
        info = np.iinfo(self.dtype) if self.dtype.kind in "iu" else None
        self._lo, self._hi = (info.min, info.max) if info else (None, None)

    def _write(self, flat: np.ndarray) -> None:
        if flat.size and self._lo is not None and flat.dtype != self.dtype:
            lo, hi = int(flat.min()), int(flat.max())
            if lo < self._lo or hi > self._hi:
                raise CurateError(
                    f"token id {hi if hi > self._hi else lo} does not fit {self.dtype} (writing {self.path_bin})",
                    fix="use int32 for vocabularies of 65,500 or more (dtype_for_vocab)",
                )
        self._append_bytes(np.ascontiguousarray(flat, dtype=self.dtype).tobytes())

    def _append_bytes(self, buf: bytes) -> None:
        """Raw token bytes already in this writer's dtype (sizes are recorded by the caller)."""
        self._fh.write(buf)
        self._sha.update(buf)
        self._tokens += len(buf) // self.dtype.itemsize

    def add(self, tokens: np.ndarray | Sequence[int]) -> None:
        """Append one document (one sequence)."""
        arr = np.asarray(tokens)
        self._check_open()
        self._write(arr.reshape(-1))
        self._sizes.append(np.array([arr.size], dtype=np.int64))

    def add_many(self, docs: np.ndarray | Sequence[np.ndarray], lengths: np.ndarray | Sequence[int] | None = None) -> None:
        """Append many documents: a list of arrays, or one flat array split by `lengths`."""
        self._check_open()
        if lengths is None:
            if isinstance(docs, np.ndarray) and docs.ndim == 1 and docs.dtype != object:
                raise CurateError("add_many(flat_array) needs `lengths` (tokens per document)")
            arrays = [np.asarray(d).reshape(-1) for d in docs]
            if not arrays:
                return
            sizes = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
            flat = np.concatenate(arrays)
        else:
            flat = np.asarray(docs).reshape(-1)
            sizes = np.asarray(lengths, dtype=np.int64).reshape(-1)
            if (sizes < 0).any() or int(sizes.sum()) != flat.size:
                raise CurateError(f"lengths sum to {int(sizes.sum())} but {flat.size} tokens were given (writing {self.path_bin})")
        self._write(flat)
        self._sizes.append(sizes)

    def _check_open(self) -> None:
        if self._closed:
            raise CurateError(f"writer for {self.path_bin} is already finalized")

    def finalize(self) -> dict:
        """Write the index, rename both files into place; returns {path_bin, path_idx, tokens, documents, sha256}."""
        self._check_open()
        self._closed = True
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        sizes = np.concatenate(self._sizes) if self._sizes else np.zeros(0, dtype=np.int64)
        if sizes.size and sizes.max() > np.iinfo(np.int32).max:
            raise CurateError(f"a document of {int(sizes.max())} tokens exceeds the int32 size field ({self.path_idx})")
        tmp_idx = tmp_path(self.path_idx)
        try:
            _write_index_file(tmp_idx, self.dtype, sizes)
            # the .bin lands first and the .idx last: the index is the commit point. An index left by an
            # earlier write of this name would describe the old data, so it goes before the .bin changes.
            if self.path_idx.exists():
                self.path_idx.unlink()
            os.replace(self._tmp_bin, self.path_bin)
            os.replace(tmp_idx, self.path_idx)
            _fsync_dir(self.path_idx.parent)
        finally:
            if tmp_idx.exists():
                tmp_idx.unlink()
        return {
            "path_bin": str(self.path_bin),
            "path_idx": str(self.path_idx),
            "tokens": self._tokens,
            "documents": int(sizes.size),
            "sha256": self._sha.hexdigest(),
        }

    def abort(self) -> None:
        """Drop everything written so far (used when a task fails)."""
        if not self._closed:
            self._closed = True
            self._fh.close()
        if self._tmp_bin.exists():
            self._tmp_bin.unlink()

    def __enter__(self) -> "MegatronWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def write_index(path_idx: Path, dtype: np.dtype, sizes: np.ndarray) -> None:
    """Write a .idx for sequences of `sizes` tokens (one per document) atomically."""
    tmp = tmp_path(path_idx)
    try:
        _write_index_file(tmp, dtype, sizes)
        os.replace(tmp, path_idx)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_index_file(path: Path, dtype: np.dtype, sizes: np.ndarray) -> None:
    """Write (and fsync) the index bytes for sequences of `sizes` tokens to `path` as given."""
    dtype = np.dtype(dtype)
    sizes = np.asarray(sizes, dtype=np.int64)
    n = int(sizes.size)
    pointers = np.zeros(n, dtype=np.int64)
    if n > 1:
        np.cumsum(sizes[:-1] * dtype.itemsize, out=pointers[1:])
    with open(path, "wb") as fh:
        fh.write(HEADER.pack(MAGIC, VERSION, CODE_OF[dtype], n, n + 1))
        fh.write(sizes.astype("<i4").tobytes())
        fh.write(pointers.astype("<i8").tobytes())
        fh.write(np.arange(n + 1, dtype="<i8").tobytes())
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make the renames in `folder` durable (a power loss cannot reorder them)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class IndexedDataset:
    """Memory-mapped reader of `prefix.bin/.idx`; validates the header and sizes on open.

    `ds[i]` is a zero-copy view of sequence i; `ds.tokens` maps the whole .bin.
    """

    def __init__(self, prefix: Path | str):
        self.path_bin, self.path_idx = paths_of(prefix)
        for p in (self.path_idx, self.path_bin):
            if not p.is_file():
                raise CurateError(f"missing shard file {p}", where=str(p), fix="rerun the tokenize/mix stage that writes it")
        raw = self.path_idx.read_bytes()
        where = str(self.path_idx)
        if len(raw) < HEADER.size:
            raise CurateError(f"index is {len(raw)} bytes, shorter than the {HEADER.size}-byte header", where=where)
        magic, version, code, n, m = HEADER.unpack_from(raw, 0)
        if magic != MAGIC:
            raise CurateError(f"bad magic {magic!r} (expected {MAGIC!r}): not a Megatron index", where=where)
        if version != VERSION:
            raise CurateError(f"unsupported index version {version} (expected {VERSION})", where=where)
        if code not in DTYPE_CODES:
            raise CurateError(f"unknown dtype code {code}", where=where, fix="valid codes: 4 (int32), 8 (uint16)")
        expected = HEADER.size + 4 * n + 8 * n + 8 * m
        if len(raw) != expected:
            raise CurateError(f"index is {len(raw)} bytes but its header ({n} sequences, {m} documents) implies {expected}", where=where)
        self.dtype: np.dtype = DTYPE_CODES[code]
        off = HEADER.size
        self.sizes = np.frombuffer(raw, dtype="<i4", count=n, offset=off).astype(np.int32)
        off += 4 * n
        self.pointers = np.frombuffer(raw, dtype="<i8", count=n, offset=off).astype(np.int64)
        off += 8 * n
        self.doc_idx = np.frombuffer(raw, dtype="<i8", count=m, offset=off).astype(np.int64)
        if (self.sizes < 0).any():
            raise CurateError("negative sequence size in index", where=where)
        item = self.dtype.itemsize
        expect_ptr = np.zeros(n, dtype=np.int64)
        if n > 1:
            np.cumsum(self.sizes[:-1].astype(np.int64) * item, out=expect_ptr[1:])
        if not np.array_equal(self.pointers, expect_ptr):
            bad = int(np.flatnonzero(self.pointers != expect_ptr)[0])
            raise CurateError(f"byte pointer of sequence {bad} is {int(self.pointers[bad])}, expected {int(expect_ptr[bad])}", where=where)
        if m == 0 or self.doc_idx[0] != 0 or self.doc_idx[-1] != n or (np.diff(self.doc_idx) < 0).any():
            raise CurateError(f"document index must rise from 0 to {n}", where=where)
        self.num_tokens = int(self.sizes.sum(dtype=np.int64))
        bin_bytes = self.path_bin.stat().st_size
        if bin_bytes != self.num_tokens * item:
            raise CurateError(
                f"data file is {bin_bytes} bytes but the index lists {self.num_tokens} {self.dtype} tokens ({self.num_tokens * item} bytes)",
                where=str(self.path_bin),
                fix="the pair is truncated or mismatched; rerun the stage that wrote it",
            )
        if bin_bytes:
            self.tokens = np.memmap(self.path_bin, dtype=self.dtype, mode="r")
        else:  # mmap cannot map an empty file
            self.tokens = np.zeros(0, dtype=self.dtype)
        self._starts = self.pointers // item

    def __len__(self) -> int:
        return int(self.sizes.size)

    def __getitem__(self, i: int) -> np.ndarray:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"sequence {i} out of range for {n} sequences in {self.path_idx}")
        s = int(self._starts[i])
        return self.tokens[s : s + int(self.sizes[i])]


def concat_datasets(prefixes: Sequence[Path | str], out_prefix: Path | str) -> dict:
    """Concatenate indexed datasets of one dtype, in the given order, into `out_prefix` (streamed,
    atomic); returns what `MegatronWriter.finalize` returns."""
    parts = [IndexedDataset(p) for p in prefixes]
    if not parts:
        raise CurateError(f"nothing to concatenate into {out_prefix}")
    dtypes = {p.dtype for p in parts}
    if len(dtypes) != 1:
        raise CurateError(f"cannot concatenate datasets of different dtypes {sorted(map(str, dtypes))} into {out_prefix}")
    writer = MegatronWriter(out_prefix, parts[0].dtype)
    with writer:
        for part in parts:
            with open(part.path_bin, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 24), b""):
                    writer._append_bytes(block)
            writer._sizes.append(part.sizes.astype(np.int64))
        return writer.finalize()
