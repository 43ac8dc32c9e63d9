"""`curate shards verify DIR`: prove a run's shards are what its manifest says, before a GPU job
spends hours on them.

Checks, per shard: both files exist; the .idx header, sizes and pointers agree with the .bin; the
dtype is the one the tokenizer's vocabulary needs; sha256, token and document counts match the
manifest; every document is non-empty and ends in EOS; no id is outside the vocabulary. And the
train shards add up to the mixture's total. Every problem names the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curate.errors import CurateError
from curate.io.atomic import read_json
from curate.layout import RunLayout
from curate.shards.megatron import IndexedDataset, dtype_for_vocab, paths_of
from curate.io.atomic import sha256_file as file_sha256


@dataclass
class VerifyReport:
    checked: list[dict] = field(default_factory=list)  # {path, tokens, documents, split}
    problems: list[str] = field(default_factory=list)  # "<file>: what is wrong"

    @property
    def ok(self) -> bool:
        return not self.problems


def find_manifest(path: str | Path) -> Path | None:
    """manifest.json of a run directory, given the run directory or its shards/ folder."""
    p = Path(path)
    name = RunLayout(p).manifest.name
    for cand in (RunLayout(p).manifest, RunLayout(p.parent).manifest) if p.is_dir() else (p,):
        if cand.is_file() and cand.name == name:
            return cand
    return None


def check_dataset(prefix: Path, eos_id: int | None, vocab_size: int | None, report: VerifyReport) -> IndexedDataset | None:
    """Structural checks of one .bin/.idx pair; problems go to `report`."""
    bin_path, idx_path = paths_of(prefix)
    try:
        ds = IndexedDataset(prefix)
    except CurateError as exc:
        report.problems.append(f"{exc.where or idx_path}: {exc.message}")
        return None
    if vocab_size is not None and ds.dtype != dtype_for_vocab(vocab_size):
        report.problems.append(f"{idx_path}: dtype {ds.dtype}, but a vocabulary of {vocab_size} needs {dtype_for_vocab(vocab_size)}")
    if len(ds):
        empty = np.flatnonzero(ds.sizes <= 0)
        if empty.size:
            report.problems.append(f"{idx_path}: {empty.size} empty documents (first: #{int(empty[0])}); every document ends in EOS")
        elif eos_id is not None:
            last = ds.tokens[ds.pointers // ds.dtype.itemsize + ds.sizes.astype(np.int64) - 1]
            bad = np.flatnonzero(last != eos_id)
            if bad.size:
                report.problems.append(f"{bin_path}: {bad.size} of {len(ds)} documents do not end in EOS {eos_id} "
                                       f"(first: document #{int(bad[0])} ends in {int(last[bad[0]])})")
        if vocab_size is not None and ds.num_tokens:
            top = int(ds.tokens.max())
            if top >= vocab_size:
                report.problems.append(f"{bin_path}: token id {top} is outside the vocabulary of {vocab_size}")
    return ds


def verify_dir(path: str | Path, eos_id: int | None = None, vocab_size: int | None = None) -> VerifyReport:
    """Verify the shards of a run directory against its manifest (or, with no manifest, every
    .bin/.idx pair in `path` structurally, using the given EOS id and vocabulary size)."""
    report = VerifyReport()
    manifest_path = find_manifest(path)
    if manifest_path is None:
        idxs = sorted(Path(path).glob("*.idx"))
        if not idxs:
            raise CurateError("no manifest.json and no .idx files here", where=str(path),
                              fix="pass a run directory (holding manifest.json) or a folder of .bin/.idx shards")
        for idx in idxs:
            ds = check_dataset(idx.with_suffix(""), eos_id, vocab_size, report)
            if ds is not None:
                report.checked.append({"path": str(idx.with_suffix(".bin")), "tokens": ds.num_tokens, "documents": len(ds), "split": None})
        return report

    try:
        manifest = read_json(manifest_path)
        tok = manifest["tokenizer"]
        shards = manifest["shards"]
        eos_id = int(tok["eos_id"]) if eos_id is None else eos_id
        vocab_size = int(tok["vocab_size"]) if vocab_size is None else vocab_size
    except (ValueError, KeyError, TypeError) as exc:
        raise CurateError(f"manifest is not readable or lacks tokenizer/shards ({exc})", where=str(manifest_path),
                          fix="rerun the mix stage to rewrite it") from None
    run_dir = manifest_path.parent
    train_tokens = 0
    for entry in shards:
        bin_path = run_dir / entry["path"]
        ds = check_dataset(bin_path.with_suffix(""), eos_id, vocab_size, report)
        if ds is None:
            continue
        digest = file_sha256(bin_path)
        if digest != entry.get("sha256"):
            report.problems.append(f"{bin_path}: sha256 {digest[:16]}… does not match the manifest's {str(entry.get('sha256'))[:16]}…")
        for key, actual in (("tokens", ds.num_tokens), ("documents", len(ds))):
            if entry.get(key) != actual:
                report.problems.append(f"{bin_path}: {actual} {key}, the manifest says {entry.get(key)}")
        if entry.get("split") == "train":
            train_tokens += ds.num_tokens
        report.checked.append({"path": str(bin_path), "tokens": ds.num_tokens, "documents": len(ds), "split": entry.get("split")})
    total = manifest.get("mixture", {}).get("total_tokens")
    if total is not None and total != train_tokens and report.ok:
        report.problems.append(f"{manifest_path}: train shards hold {train_tokens} tokens, mixture.total_tokens says {total}")
    return report
