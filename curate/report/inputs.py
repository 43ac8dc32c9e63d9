"""What the run reports are made from, as one fingerprint, so a resumed run that changed nothing
keeps its reports instead of drawing them again.

The fingerprint covers the stats, the run directory's path (report.md names it), curate's version and
the source of this package, and every file of the run directory the reports could read: the JSON and
YAML files by content (a run rewrites some of them, e.g. the manifest, even when nothing changed), the
data files (Parquet, JSONL, token files) by size and modification time, so a run of thousands of
files is not read again to learn that nothing changed. Left out: the reports themselves, timings.json
(it only feeds the page's volatile block, which is swapped in place), completion markers, locks and
temp files.

It is stored in `report.fingerprint` with the sha256 of every report file, so an edited or deleted
report is written again too.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import orjson

from curate import __version__
from curate.io.atomic import TMP_NAME, read_json, write_json

FILE = "report.fingerprint"
BY_CONTENT = (".json", ".yaml")
OUTPUTS = ("report.md", "report.html", "funnel.svg", "signals.svg", "mixture.svg")
SKIP_TOP = frozenset(OUTPUTS) | {FILE, "timings.json", "_markers", ".curate.lock", "funnel.png", "signals.png", "mixture.png"}


def _code() -> str:
    h = hashlib.sha256(__version__.encode())
    for p in sorted(Path(__file__).parent.glob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _files(run: Path) -> list:
    out = []
    for top, dirs, files in os.walk(run):
        rel_top = os.path.relpath(top, run)
        if rel_top == ".":
            dirs[:] = [d for d in dirs if d not in SKIP_TOP]
            files = [f for f in files if f not in SKIP_TOP]
        dirs.sort()
        for f in sorted(files):
            if TMP_NAME.match(f):  # an atomic writer's temp file
                continue
            p = os.path.join(top, f)
            st = os.stat(p)
            rel = f if rel_top == "." else f"{rel_top}/{f}"
            if f.endswith(BY_CONTENT):
                with open(p, "rb") as fh:
                    out.append([rel, hashlib.sha256(fh.read()).hexdigest()])
            else:
                out.append([rel, st.st_size, st.st_mtime_ns])
    return out


def report_fingerprint(run: Path, stats: dict) -> str:
    data = orjson.dumps([_code(), str(run), stats, _files(run)], option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return hashlib.sha256(data).hexdigest()


def _outputs(run: Path, stable) -> dict[str, str]:
    """sha256 of each report file present (report.html without its volatile block)."""
    return {name: hashlib.sha256(stable(run / name)).hexdigest() for name in OUTPUTS if (run / name).exists()}


def unchanged(run: Path, fingerprint: str, stable) -> bool:
    """True when the reports on disk were written from inputs with this fingerprint and are intact."""
    path = run / FILE
    if not path.exists():
        return False
    try:
        stored = read_json(path)
    except (OSError, orjson.JSONDecodeError):
        return False
    return stored.get("inputs") == fingerprint and stored.get("outputs") == _outputs(run, stable) and "report.md" in stored["outputs"]


def remember(run: Path, fingerprint: str, stable) -> None:
    write_json(run / FILE, {"inputs": fingerprint, "outputs": _outputs(run, stable)})
