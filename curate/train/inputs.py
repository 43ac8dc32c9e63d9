"""Find what to train and validate on from a run directory, a shards directory or shard files.

A run directory's manifest.json is the source of truth: train shards are its `shards` with
split "train"; held-out shards are those with split "val", keyed by their `source`; the
tokenizer's vocab_size and eos_id size the model and tell the objectives which ids are special.
Without a manifest (a bare folder of .bin/.idx), `val_<source>.bin` files are held-out sets and
the vocabulary is the largest id seen + 1 (one pass over the tokens) unless given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curate.errors import InputError
from curate.io.atomic import read_json
from curate.layout import RunLayout
from curate.train.loader import ShardSet, open_shard


@dataclass
class DataSpec:
    train: list[str]  # shard prefixes, in manifest order
    val: dict[str, list[str]] = field(default_factory=dict)  # source -> held-out shard prefixes
    roles: dict[str, str] = field(default_factory=dict)  # source -> role (domain/general/...)
    vocab_size: int | None = None
    eos_id: int | None = None
    where: str = ""


def _prefix(run: Path, rel: str) -> str:
    p = (run / rel) if not Path(rel).is_absolute() else Path(rel)
    return str(p.with_suffix("")) if p.suffix in (".bin", ".idx") else str(p)


def source_roles(manifest: dict) -> dict[str, str]:
    """source -> role from the manifest's mixture, its sources or its embedded pipeline config."""
    roles: dict[str, str] = {}
    mixed = (manifest.get("mixture") or {}).get("sources")
    if isinstance(mixed, dict):
        roles.update({k: v["role"] for k, v in mixed.items() if isinstance(v, dict) and "role" in v})
    sources = manifest.get("sources")
    if isinstance(sources, dict):
        roles.update({k: v["role"] for k, v in sources.items() if isinstance(v, dict) and "role" in v})
    cfg = manifest.get("config") or {}
    for s in cfg.get("sources", []) if isinstance(cfg, dict) else []:
        if isinstance(s, dict) and "name" in s and "role" in s:
            roles.setdefault(s["name"], s["role"])
    return roles


def from_manifest(run: Path) -> DataSpec:
    path = RunLayout(run).manifest
    try:
        man = read_json(path)
        shards = man["shards"]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read manifest: {exc}", where=str(path), fix="re-run `curate run` to rewrite it") from None
    except KeyError:
        raise InputError("manifest has no `shards` list", where=str(path), fix="the run did not reach the mix stage: re-run `curate run`") from None
    tok = man.get("tokenizer") or {}
    spec = DataSpec(train=[], roles=source_roles(man), vocab_size=tok.get("vocab_size"), eos_id=tok.get("eos_id"), where=str(path))
    for i, s in enumerate(shards):
        if "path" not in s:
            raise InputError(f"shards[{i}] has no `path`", where=str(path), fix="re-run the mix stage")
        if s.get("split", "train") == "val":
            name = s.get("source") or Path(s["path"]).stem.removeprefix("val_")
            spec.val.setdefault(name, []).append(_prefix(run, s["path"]))
        else:
            spec.train.append(_prefix(run, s["path"]))
    if not spec.train:
        raise InputError("manifest lists no train shards", where=str(path), fix="re-run the mix stage with a non-zero token budget")
    return spec


def from_folder(folder: Path) -> DataSpec:
    bins = sorted(folder.glob("*.bin"))
    train = [str(b.with_suffix("")) for b in bins if not b.name.startswith("val")]
    val = {b.stem.removeprefix("val_"): [str(b.with_suffix(""))] for b in bins if b.name.startswith("val_")}
    if not train:
        raise InputError("no train .bin/.idx shards here", where=str(folder), fix="pass a run directory (with manifest.json) or its shards/ folder")
    return DataSpec(train=train, val=val, where=str(folder))


def resolve(path: str | Path) -> DataSpec:
    """A run dir (manifest.json), its shards/ folder, a folder of shards, or one shard prefix."""
    p = Path(path)
    if RunLayout(p).manifest.is_file():
        return from_manifest(p)
    if p.is_dir() and RunLayout(p.parent).manifest.is_file() and p.name == RunLayout(p.parent).shards_dir.name:
        return from_manifest(p.parent)
    if p.is_dir():
        return from_folder(p)
    prefix = str(p.with_suffix("")) if p.suffix in (".bin", ".idx") else str(p)
    if Path(prefix + ".bin").is_file():
        return DataSpec(train=[prefix], where=prefix)
    raise InputError("not a run directory, shards folder or shard", where=str(path), fix="pass RUN/ (with manifest.json), RUN/shards or a NAME.bin")


def max_token(prefixes: list[str]) -> int:
    """Largest id in the shards (a full pass; only used when no manifest states the vocab)."""
    top = -1
    for p in prefixes:
        toks = open_shard(p).tokens
        for i in range(0, len(toks), 1 << 24):
            top = max(top, int(np.max(toks[i : i + (1 << 24)])))
    return top


def train_sets(specs: list[tuple[float, DataSpec]]) -> tuple[tuple[float, ...], tuple[ShardSet, ...]]:
    return tuple(w for w, _ in specs), tuple(ShardSet(s.train, name=s.where) for _, s in specs)
