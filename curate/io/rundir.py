"""What in a run directory belongs to curate, and the safety rules of `--out`.

A run directory is recognised by its identity file `.curate-run` (older runs: `_markers/` or
`config.fingerprint`). `--out` never deletes a file curate did not write:

* a non-empty folder that is not a curate run is refused, with or without `--fresh`;
* `--fresh` deletes only the entries listed in `OWNED` (plus the report's charts), leaving anything
  a user put beside them;
* temp files are removed only under the run-directory lock (`curate.io.runlock`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from curate.errors import ConfigError
from curate.io.atomic import write_json

IDENTITY = ".curate-run"
LEGACY_IDENTITY = ("_markers", "config.fingerprint")

# every top-level name a pipeline run writes (folders and files)
OWNED = (
    IDENTITY, "_markers", "_workers", "annotated", "quarantine", "dedup", "decontam", "decisions", "selected", "tokenizer", "tokens", "shards", "ablations",
    "config.yaml", "decontam.json", "config.fingerprint", "ablation.fingerprint", "prepared.json", "fingerprints.json", "manifest.json", "stats.json", "timings.json", "report.md", "report.html",
    "report.fingerprint", "funnel.svg", "signals.svg", "mixture.svg", "funnel.png", "signals.png", "mixture.png",  # the report charts (PNG: older runs)
)


def is_run_dir(path: Path) -> bool:
    return any((path / name).exists() for name in (IDENTITY, *LEGACY_IDENTITY))


def user_files(path: Path) -> list[str]:
    """Top-level entries of `path` that curate does not own (lock file aside)."""
    from curate.io.runlock import LOCK_NAME

    return sorted(p.name for p in path.iterdir() if p.name not in OWNED and p.name != LOCK_NAME)


def check_out_dir(run_dir: Path) -> None:
    """Refuse a run directory that exists, is not a curate run and is not empty (or is a file)."""
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise ConfigError(f"--out {run_dir} is a file, not a folder", where=str(run_dir), fix="choose a new or empty folder for --out")
    if is_run_dir(run_dir):
        return
    found = user_files(run_dir)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise ConfigError(
            f"the folder {run_dir} is not empty and is not a curate run directory (it holds {shown}); "
            "curate will not write into it or delete anything in it, with or without --fresh",
            where=str(run_dir),
            fix="choose a new or empty folder for --out",
        )


def mark_run_dir(run_dir: Path) -> None:
    if not (run_dir / IDENTITY).exists():
        write_json(run_dir / IDENTITY, {"what": "a curate run directory; --fresh deletes only what curate wrote here"})


def clear_run_dir(run_dir: Path) -> list[str]:
    """`--fresh`: delete what curate wrote here (call with the run-directory lock held); keep the rest.
    Returns the names of the entries left in place."""
    for name in OWNED:
        p = run_dir / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    return user_files(run_dir)

