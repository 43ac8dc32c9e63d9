"""Shared by the Ray, fault and hostile-input tests: a small every-stage pipeline and output checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.parquet as pq

from conftest import make_docs, write_jsonl
from curate.shards.megatron import IndexedDataset
from curate.report.html import stable_bytes

# every stage: annotate (heuristics, langid, keywords, dedup keys) -> dedup -> select -> tokenize -> mix
PIPELINE = """
name: scaleout
seed: 21
sources:
  - {name: fin, role: domain, paths: ["in/fin/*"]}
  - {name: gen, role: general, paths: ["in/gen/*"]}
annotate:
  batch_size: 128
  keywords: [{name: finance}]
  dedup_keys: {}
dedup: {threshold: 0.8}
select:
  rules:
    - {name: too_short, keep: "word_count >= 30"}
    - {name: top, mode: top_fraction, column: kw_finance_per_1k, fraction: 0.9, roles: [domain]}
tokenizer: {vocab_size: 300, min_frequency: 1, val_fraction: 0.05, batch_docs: 128, sample_bytes: 400000}
mix: {shard_tokens: %(shard_tokens)d, on_shortfall: warn}
"""

# files whose content depends on wall time or on the path of the run directory
VOLATILE = {"timings.json", "report.md", "config.fingerprint", "report.fingerprint"}


def write_corpus(root: Path, files_per_source: int = 2, docs_per_file: int = 150) -> None:
    """JSONL inputs (plain and .gz) with a few exact duplicates across sources, so dedup has work."""
    for s, name in enumerate(("fin", "gen")):
        for i in range(files_per_source):
            docs = make_docs(docs_per_file, seed=100 * s + i, prefix=f"{name}{i}_")
            if i == 0:
                docs += [dict(d, id=f"{name}dup{k}") for k, d in enumerate(make_docs(5, seed=999, prefix="x"))]
            write_jsonl(root / "in" / name / f"part{i}.jsonl{'.gz' if i % 2 else ''}", docs, gz=bool(i % 2))


def write_pipeline(root: Path, shard_tokens: int = 20_000) -> Path:
    path = root / "p.yaml"
    path.write_text(PIPELINE % {"shard_tokens": shard_tokens})
    return path


def digest(run: Path) -> dict[str, str]:
    """sha256 of every deterministic file of a run directory, keyed by relative path."""
    out = {}
    for p in sorted(run.rglob("*")):
        if p.is_file() and p.name not in VOLATILE:
            out[str(p.relative_to(run))] = hashlib.sha256(stable_bytes(p)).hexdigest()
    return out


def check_outputs_complete(run: Path, final: bool = True) -> int:
    """Every Parquet file and .bin/.idx pair under a final name is whole (Parquet reads; the index
    header, pointers and sizes match the data file). Mid-run (`final=False`) a .bin may still lack
    its .idx (the writer renames the .bin first and the .idx last, as the commit point), but an
    .idx never lacks its .bin. Returns how many files were checked."""
    n = 0
    for p in run.rglob("*.parquet"):
        if ".tmp-" not in p.name:
            pq.read_table(p)
            n += 1
    for idx in run.rglob("*.idx"):
        if ".tmp-" in idx.name:
            continue
        IndexedDataset(idx.with_suffix(""))  # raises, naming the file, on any inconsistency
        n += 2
    if final:
        assert not [b for b in run.rglob("*.bin") if not b.with_suffix(".idx").exists()]
    return n


# ---- task functions for worker-loss tests (top level: the pool's spawned workers import them)


def slow_value(value: int, seconds: float = 0.2) -> dict:
    import time

    time.sleep(seconds)
    return {"value": value}


def process_id(value: int) -> dict:
    """Which process ran the task."""
    import os

    return {"value": value, "pid": os.getpid()}


def kill_own_worker(flag: str | None = None, value: int = 0) -> dict:
    """SIGKILL the worker process running this task: every time, or only while `flag` does not exist
    yet (the first attempt), as a crash in native code or the OOM killer would."""
    import os
    import signal

    if flag is None or not os.path.exists(flag):
        if flag is not None:
            open(flag, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return {"value": value}
