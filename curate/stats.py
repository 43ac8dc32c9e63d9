"""The one shape of a stage's stats, and the helper every stage builds it with.

    {"files":   [{"source", "file", "docs_in", "docs_out", "bytes", "drops": {reason: n}, "tokens", ...}],
     "sources": {source: {"files", "docs_in", "docs_out", "bytes", "drops", "tokens", ...}},
     "total":   {"files", "docs_in", "docs_out", "bytes", "drops", "tokens", ...},
     ...stage-specific keys}

A stage hands `stage_stats` one row per unit of work (an input file, or a source when the stage
works per source: `file` None); rows of the same (source, file) are added up (the parts of a split
file), integers and reason counts are summed per source and in total, and extra numeric fields
(e.g. `heldout_tokens`) are summed the same way. `bytes` is the UTF-8 size of the text a stage
passes on (`docs_out`). The run summary and report.md render any stage from these keys alone.
"""

from __future__ import annotations

from typing import Any, Iterable

CORE = ("docs_in", "docs_out", "bytes", "drops", "tokens")


def row(source: str, file: str | None = None, *, docs_in: int = 0, docs_out: int = 0, bytes: int = 0,  # noqa: A002
        drops: dict[str, int] | None = None, tokens: int = 0, **extra: Any) -> dict:
    """One unit of a stage's work in the shared shape (extra fields ride along)."""
    return {"source": source, "file": file, "docs_in": int(docs_in), "docs_out": int(docs_out), "bytes": int(bytes),
            "drops": dict(sorted((k, int(v)) for k, v in (drops or {}).items() if v)), "tokens": int(tokens), **extra}


def _add(into: dict, r: dict) -> None:
    for k, v in r.items():
        if k in ("source", "file"):
            continue
        if isinstance(v, dict):
            d = into.setdefault(k, {})
            for kk, vv in v.items():
                d[kk] = d.get(kk, 0) + vv
        elif isinstance(v, int) and not isinstance(v, bool):
            into[k] = into.get(k, 0) + v
        elif k not in into:
            into[k] = v  # a non-summable value (a float, a string): kept as the first row has it


def stage_stats(rows: Iterable[dict], sources: Iterable[str] = (), total_extra: dict | None = None, **extra: Any) -> dict:
    """Rows -> {files, sources, total, **extra}; `sources` lists sources to show even without rows."""
    files: dict[tuple, dict] = {}
    per_source: dict[str, dict] = {s: row(s) for s in sources}
    for s in per_source.values():
        s.pop("source"), s.pop("file")
        s["files"] = 0
    for r in rows:
        key = (r["source"], r.get("file"))
        if key not in files:
            files[key] = row(r["source"], r.get("file"))
        _add(files[key], r)
    for (src, file), f in files.items():
        s = per_source.setdefault(src, {"files": 0, **{k: ({} if k == "drops" else 0) for k in CORE}})
        if file is not None:
            s["files"] += 1
        _add(s, f)
    total: dict = {"files": 0, **{k: ({} if k == "drops" else 0) for k in CORE}}
    for s in per_source.values():
        _add(total, {k: v for k, v in s.items() if isinstance(v, (int, dict)) and not isinstance(v, bool)})
    for s in (*per_source.values(), total):
        s["drops"] = dict(sorted(s["drops"].items()))
    total.update(total_extra or {})
    return {"files": [f for (_, file), f in files.items() if file is not None], "sources": per_source, "total": total, **extra}


def dropped(stats: dict) -> int:
    return sum(stats.get("total", {}).get("drops", {}).values())


def summary_lines(stages: dict) -> list[str]:
    """One line per stage for `curate run`: documents in -> out, drops, MB and tokens passed on."""
    lines = []
    for name, st in stages.items():
        t = st.get("total", {})
        parts = [f"{t.get('docs_in', 0):,} docs in", f"{t.get('docs_out', 0):,} out"]
        if t.get("drops"):
            parts.append(f"{dropped(st):,} dropped ({', '.join(f'{k} {v:,}' for k, v in sorted(t['drops'].items(), key=lambda kv: -kv[1])[:3])})")
        if t.get("bytes"):
            parts.append(f"{t['bytes'] / 1e6:.1f} MB")
        if t.get("tokens"):
            parts.append(f"{t['tokens']:,} tokens")
        lines.append(f"{name + ':':10s}" + ", ".join(parts))
    return lines
