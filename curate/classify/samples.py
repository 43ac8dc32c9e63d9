"""Read a recipe's positives/negatives into bounded, deduplicated, seeded samples.

Each class keeps at most `cap` documents: every document gets a key = xxh3_64(normalized text,
seed) and the class keeps the `cap` smallest keys seen so far. That is a uniform random sample
that does not depend on input order or batching, it bounds memory to one batch beyond the cap, and
identical normalized texts share a key, so exact duplicates collapse (and cannot straddle the
train / held-out split).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from curate.classify.base import sha256_file
from curate.classify.recipe import FileInput, Input, RunInput
from curate.config import glob_paths
from curate.errors import ConfigError
from curate.expr import compile_expr, evaluate, names_in
from curate.io.formats import file_stem
from curate.io.texts import read_texts
from curate.layout import RunLayout


@dataclass
class Batch:
    """Texts of one input with the input's display name."""

    texts: pa.Array
    source: str


@dataclass
class ClassSample:
    """A bounded, deduplicated sample of one class: texts, their source names and sort keys."""

    cap: int
    texts: pa.Array = field(default_factory=lambda: pa.array([], pa.large_string()))
    sources: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    seen: dict[str, int] = field(default_factory=dict)  # documents read per source (before sampling)
    files: dict[str, str] = field(default_factory=dict)  # input file -> sha256 (which data trained the model)

    def add(self, batch: Batch, keys: np.ndarray) -> None:
        self.seen[batch.source] = self.seen.get(batch.source, 0) + len(batch.texts)
        texts = pa.concat_arrays([self.texts, batch.texts.cast(pa.large_string())])
        sources = pa.concat_arrays([self.sources, pa.array([batch.source] * len(batch.texts), pa.string())])
        keys = np.concatenate([self.keys, keys])
        # first occurrence of each key, then the `cap` smallest keys (stable: ties keep input order)
        uniq, first = np.unique(keys, return_index=True)
        take = first[: self.cap]
        self.texts, self.sources, self.keys = texts.take(pa.array(take)), sources.take(pa.array(take)), uniq[: self.cap]

    def __len__(self) -> int:
        return len(self.keys)

    def counts(self) -> dict[str, int]:
        vals, cnt = np.unique(np.asarray(self.sources.to_pylist(), dtype=object).astype(str), return_counts=True)
        return {str(v): int(c) for v, c in zip(vals, cnt)}

    def subset(self, idx: np.ndarray) -> "ClassSample":
        return ClassSample(self.cap, self.texts.take(pa.array(idx)), self.sources.take(pa.array(idx)), self.keys[idx], dict(self.seen), dict(self.files))


def text_keys(normalized: pa.Array, seed: int) -> np.ndarray:
    """xxh3_64 of each normalized text with the run's seed (the sampling and dedup key)."""
    h = xxhash.xxh3_64_intdigest
    return np.fromiter((h(s.encode("utf-8"), seed) for s in normalized.to_pylist()), dtype=np.uint64, count=len(normalized))


def read_class(inputs: list[Input], root: Path, text_field: str, cap: int, seed: int, normalize: Callable[[pa.Array], pa.Array],
               progress: Callable[[str], None] | None = None) -> ClassSample:
    """All inputs of one class, sampled to `cap` by seeded text-hash keys. `progress` (if given) is
    told about each input as it is read (long reads otherwise look like a hang)."""
    sample = ClassSample(cap)
    for spec in inputs:
        label = spec.path if isinstance(spec, FileInput) else f"run {spec.run}"
        if isinstance(spec, FileInput):
            files = resolve_glob(spec.path, root, "input")
            if progress:
                progress(f"  {label}: hashing {len(files)} file(s)")
            sample.files.update({os.path.relpath(p, root): sha256_file(p) for p in files})
        n = 0
        for batch in iter_input(spec, root, text_field):
            if len(batch.texts):
                sample.add(batch, text_keys(normalize(batch.texts), seed))
                n += len(batch.texts)
        if progress:
            progress(f"  {label}: {n:,} documents read")
    return sample


def iter_input(spec: Input, root: Path, text_field: str) -> Iterator[Batch]:
    if isinstance(spec, RunInput):
        yield from _iter_run(spec, root)
    else:
        yield from _iter_files(spec, root, text_field)


def resolve_glob(pattern: str, root: Path, what: str) -> list[Path]:
    p = Path(pattern)
    full = p if p.is_absolute() else root / p
    files = [f for f in glob_paths(full) if f.is_file()]
    if not files:
        raise ConfigError(f"{what} `{pattern}` matches no file (looked for {full})", where=what, fix="paths are relative to the recipe's folder; check the name or the glob")
    return files


def _iter_files(spec: FileInput, root: Path, default_field: str) -> Iterator[Batch]:
    text_field = spec.text_field or default_field
    for path in resolve_glob(spec.path, root, "input"):
        name = spec.name or file_stem(path)
        for texts in read_texts(path, text_field):
            yield Batch(texts, name)


def _iter_run(spec: RunInput, root: Path) -> Iterator[Batch]:
    run = Path(spec.run)
    run = run if run.is_absolute() else root / run
    base = RunLayout(run).annotated_dir
    if not base.is_dir():
        raise ConfigError(f"run `{spec.run}` has no annotated/ folder (looked in {base})", where="run input", fix="run the pipeline's annotate stage first, or fix the run path")
    sources = spec.sources or sorted(p.name for p in base.iterdir() if p.is_dir())
    for source in sources:
        files = sorted((base / source).glob("**/*.parquet"))
        if not files:
            raise ConfigError(f"run `{spec.run}` has no annotated Parquet for source `{source}`", where="run input", fix=f"sources present: {', '.join(sorted(p.name for p in base.iterdir() if p.is_dir()))}")
        for path in files:
            schema = pq.read_schema(path)
            expr = compile_expr(spec.where, schema.names, where=f"run input {spec.run} where")
            table = pq.read_table(path, columns=sorted(names_in(spec.where) | {"text"}))
            kept = table.filter(evaluate(table, expr)).column("text")
            yield Batch(pc.fill_null(kept.combine_chunks().cast(pa.large_string()), ""), spec.name or f"{run.name}:{source}")
