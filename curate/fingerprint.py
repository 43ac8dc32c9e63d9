"""Per-task fingerprints: what decides a task's output, so a rerun redoes exactly what changed.

Every task of every stage carries a fingerprint; its completion marker stores it, and a marker whose
fingerprint differs from the task's current one counts as not done (the task reruns and overwrites
its outputs). A fingerprint covers:

* the config that affects the task (never `out`, executor, workers, progress, `mix:` for annotate...);
* the content (sha256) of every file the task's configuration names: lexicons, models (and their
  `<stem>.json` sidecars), a given tokenizer; bundled defaults (the langid model, the default
  lexicon) included;
* for an annotate task, its input file's identity (path relative to the glob root, size, mtime);
* for later stages, the fingerprints recorded in the markers of the upstream tasks whose outputs it
  reads (or the content hash of a shared upstream file such as `dedup/drops.parquet`).

So changing `select:` reruns select and what follows while annotate is reused; touching one input
reruns that input's tasks (and the cross-file stages: dedup, and what reads them); annotate keeps a
fingerprint per signal, so adding a signal or editing one lexicon recomputes only those columns
(see `curate.stages.annotate`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import orjson

from curate import __version__
from curate.io.atomic import sha256_file

_CONTENT: dict[tuple, str] = {}


def digest(*parts: Any) -> str:
    """A short, stable hash of JSON-able parts (keys sorted)."""
    data = orjson.dumps([__version__, *parts], option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY, default=str)
    return hashlib.sha256(data).hexdigest()[:32]


def content_hash(path: Path) -> str:
    """sha256 of a file, cached per process by (path, size, mtime) so big models hash once."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _CONTENT:
        _CONTENT[key] = sha256_file(path)
    return _CONTENT[key]


def input_identity(path: Path) -> list:
    """Size and mtime of an input file; for a folder input (a saved dataset), of every file in it."""
    path = Path(path)
    if path.is_dir():
        return sorted([p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns]
                      for p in path.rglob("*") if p.is_file())
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def named_files(value: Any, root: Path) -> list[Path]:
    """Files named by string values anywhere in a config section (relative to `root`), with the
    `<stem>.json` sidecar a model may have; sorted, for a stable fingerprint."""
    found: set[Path] = set()

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, str) and v and len(v) < 4096 and "\n" not in v:
            p = Path(v) if Path(v).is_absolute() else root / v
            try:
                if p.is_file():
                    found.add(p)
                    side = p.with_suffix(".json")
                    if side != p and side.is_file():
                        found.add(side)
            except OSError:
                pass

    walk(value)
    return sorted(found)


def files_fingerprint(paths: list[Path]) -> list[list[str]]:
    return [[p.name, content_hash(p)] for p in paths]
