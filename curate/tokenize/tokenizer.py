"""Tokenizers: train (byte-level BPE or Unigram with HF `tokenizers`), load, and encode fast.

Why here: every shard's ids, dtype and EOS come from one tokenizer.json, identified in the manifest
by its sha256. Training uses a seeded sample of the *selected* documents (what the model will see),
as BloombergGPT trained its own. Encoding goes through tiktoken's core when the tokenizer converts
exactly (`curate.tokenize.fastbpe`) and is always checked against `tokenizers` on a sample; the
`tokenizers` result is the reference, the fast path only an accelerator.

Documents are encoded with special-token strings treated as ordinary text (a literal
"<|endoftext|>" inside a document never becomes a document boundary); EOS is appended per document.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pyarrow.compute as pc
import tokenizers
from tokenizers import decoders, models, pre_tokenizers, trainers

from curate.io.atomic import sha256_file as file_sha256
from curate.errors import CurateError
from curate.io.atomic import atomic_path
from curate.tokenize.config import TokenizerConfig
from curate.io.texts import read_tables
from curate.tokenize.fastbpe import FastPathUnsupported, tiktoken_encoding
from curate.shards.megatron import dtype_for_vocab
from curate.sampling import unit_hash
from curate.io.parquet_stream import open_parquet_stream

log = logging.getLogger("curate.tokenizer")

# BloombergGPT's pre-tokenization (§2.3): letter runs keep their spaces, every digit alone.
BLOOMBERG_PATTERN = r"[ A-Za-z]+|[0-9]|[^A-Za-z0-9]+"


# ----------------------------------------------------------------------------------------------
# Training


def _pre_tokenizer(kind: str) -> pre_tokenizers.PreTokenizer:
    if kind == "gpt2":
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(tokenizers.Regex(BLOOMBERG_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def train_tokenizer(texts: Iterable[str], cfg: TokenizerConfig, out_path: str | Path) -> Path:
    """Train a byte-level tokenizer on `texts` and save it atomically to `out_path` (deterministic
    for the same texts in the same order)."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if cfg.kind == "bpe":
        tok = tokenizers.Tokenizer(models.BPE())
        trainer = trainers.BpeTrainer(
            vocab_size=cfg.vocab_size, min_frequency=cfg.min_frequency, special_tokens=[cfg.eos],
            initial_alphabet=alphabet, show_progress=False,
        )
    else:
        tok = tokenizers.Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(
            vocab_size=cfg.vocab_size, special_tokens=[cfg.eos], initial_alphabet=alphabet, show_progress=False,
        )
    tok.pre_tokenizer = _pre_tokenizer(cfg.pre_tokenizer)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainer=trainer)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        tok.save(str(tmp))
    return out_path


def _read_texts(path: Path, text_field: str) -> Iterator[tuple[list[str], list[str]]]:
    """(ids, texts) batches of a Parquet, JSONL(.gz/.zst) or plain-text file (any other name is one
    document), read by the pipeline's readers: a bad or truncated record is an error naming file:line."""
    for table in read_tables(path, text_field, fallback="text", batch_size=4096):
        yield table.column("id").to_pylist(), table.column("text").to_pylist()


def _text_bytes(path: Path, text_field: str) -> int:
    if path.name.endswith(".parquet"):
        pf = open_parquet_stream(path)
        return int(sum(pc.sum(pc.binary_length(b.column(text_field))).as_py() or 0 for b in pf.iter_batches(columns=[text_field])))
    return sum(sum(len(t.encode("utf-8")) for t in texts) for _, texts in _read_texts(path, text_field))


def sample_texts(files: list[Path], seed: int, sample_bytes: int, text_field: str = "text") -> list[str]:
    """A seeded sample of about `sample_bytes` of text across `files` (each document kept with the
    same probability, decided by a hash of its id), in file order."""
    total = sum(_text_bytes(f, text_field) for f in files)
    if total == 0:
        raise CurateError("no text to train a tokenizer on", where=", ".join(map(str, files[:3])) or "(no files)",
                          fix="check that the select stage kept documents, or pass tokenizer.path")
    p = min(1.0, sample_bytes / total)
    out: list[str] = []
    for f in files:
        for ids, texts in _read_texts(f, text_field):
            keep = np.flatnonzero(unit_hash(ids, seed, "tokenizer-sample") < p)
            out.extend(texts[i] for i in keep)
    return out


# ----------------------------------------------------------------------------------------------
# Loading and encoding



@dataclass
class LoadedTokenizer:
    """A tokenizer.json plus what shards need from it: sha256, vocab size, EOS id, token dtype."""

    path: Path
    hf: tokenizers.Tokenizer
    sha256: str
    vocab_size: int
    eos: str
    eos_id: int

    @property
    def dtype(self) -> np.dtype:
        return dtype_for_vocab(self.vocab_size)

    def info(self, run_dir: str | Path | None = None) -> dict:
        """The manifest's `tokenizer` block; the path is relative to `run_dir` when inside it."""
        path = self.path.resolve()
        if run_dir is not None:
            try:
                path = path.relative_to(Path(run_dir).resolve())
            except ValueError:
                pass
        return {"path": str(path), "sha256": self.sha256, "vocab_size": self.vocab_size, "eos_id": self.eos_id, "eos": self.eos}

    def encoder(self, engine: str = "auto") -> "Encoder":
        return Encoder(self, engine)


def load_tokenizer(path: str | Path, eos: str = "<|endoftext|>") -> LoadedTokenizer:
    """Load a tokenizer.json; errors name the file and what to change."""
    path = Path(path)
    if not path.is_file():
        raise CurateError("tokenizer file not found", where=str(path), fix="train one with `curate tokenizer train` or fix tokenizer.path")
    try:
        hf = tokenizers.Tokenizer.from_file(str(path))
    except Exception as exc:
        raise CurateError(f"not a loadable tokenizer.json: {exc}", where=str(path)) from None
    eos_id = hf.token_to_id(eos)
    if eos_id is None:
        specials = [t.content for t in hf.get_added_tokens_decoder().values() if t.special]
        raise CurateError(f"the tokenizer has no token {eos!r} to end documents with", where=str(path),
                          fix=f"set tokenizer.eos to one of its special tokens: {specials[:10]}")
    hf.encode_special_tokens = True  # literal special-token strings in documents are plain text
    return LoadedTokenizer(path=path, hf=hf, sha256=file_sha256(path), vocab_size=hf.get_vocab_size(with_added_tokens=True), eos=eos, eos_id=eos_id)


@lru_cache(maxsize=4)
def cached_tokenizer(path: str, eos: str, sha256: str) -> LoadedTokenizer:
    """One tokenizer per worker process (the sha keys the cache so a changed file reloads)."""
    return load_tokenizer(path, eos)


_FAST: dict[str, object] = {}  # tokenizer sha256 -> its tiktoken Encoding, or why it has none


def fast_encoding(tok: LoadedTokenizer):
    """The tokenizer's tiktoken conversion, made once per process and tokenizer content (sha256):
    every task a worker runs reuses it. Raises FastPathUnsupported like `tiktoken_encoding`."""
    got = _FAST.get(tok.sha256)
    if got is None:
        try:
            got = tiktoken_encoding(tok.hf)
        except FastPathUnsupported as exc:
            got = exc
        if len(_FAST) >= 4:
            _FAST.clear()
        _FAST[tok.sha256] = got
    if isinstance(got, FastPathUnsupported):
        raise got
    return got


class IdMismatch(Exception):
    """The fast engine produced different ids from `tokenizers` on a document."""


class Encoder:
    """Encodes batches of documents; `engine` is "tiktoken" when the fast path converts exactly,
    else "tokenizers" with `reason` saying why."""

    def __init__(self, tok: LoadedTokenizer, engine: str = "auto"):
        self.tok = tok
        self.reason: str | None = None
        self._tt = None
        if engine == "tokenizers":
            self.reason = "engine: tokenizers requested"
        else:
            try:
                self._tt = fast_encoding(tok)
            except FastPathUnsupported as exc:
                if engine == "tiktoken":
                    raise CurateError(f"the tiktoken engine cannot reproduce this tokenizer: {exc}", where=str(tok.path),
                                      fix="set tokenizer.engine: auto (falls back to tokenizers)") from None
                self.reason = str(exc)
        self.engine = "tiktoken" if self._tt is not None else "tokenizers"

    def reference(self, texts: list[str]) -> list[list[int]]:
        """Ids from HF `tokenizers`, the reference every engine must match."""
        return [e.ids for e in self.tok.hf.encode_batch_fast(texts, add_special_tokens=False)]

    def encode(self, texts: list[str], threads: int = 1) -> list[list[int]]:
        if self._tt is not None:
            if threads <= 1:  # the batch call pays a thread-pool future per document even on one thread
                return [self._tt.encode_ordinary(t) for t in texts]
            return self._tt.encode_ordinary_batch(texts, num_threads=threads)
        return self.reference(texts)

    def check(self, texts: list[str], ids: list[list[int]], which: np.ndarray) -> None:
        """Raise IdMismatch if `ids[i]` differs from `tokenizers` for any i in `which`."""
        if self._tt is None or len(which) == 0:
            return
        ref = self.reference([texts[i] for i in which])
        for i, r in zip(which, ref):
            if ids[i] != r:
                at = next((k for k, (a, b) in enumerate(zip(ids[i], r)) if a != b), min(len(ids[i]), len(r)))
                raise IdMismatch(f"document {int(i)} of the batch differs at token {at}: fast {ids[i][at:at + 3]} vs tokenizers {r[at:at + 3]}")

    def disable_fast(self, reason: str) -> None:
        self._tt = None
        self.engine = "tokenizers"
        self.reason = reason


def flatten(ids: list[list[int]], eos_id: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(flat token array with EOS after every document, tokens per document incl. EOS)."""
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    body = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
    flat = np.insert(body, np.cumsum(lengths), eos_id).astype(dtype, copy=False)
    return flat, lengths + 1


def threads_per_worker(workers: int) -> int:
    """Threads per worker process for the fast engine: share the machine's cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))
