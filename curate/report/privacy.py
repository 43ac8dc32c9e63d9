"""PII and decontamination figures for both reports: PII found at select per source and type, and
the evaluation items the decontam stage found in the corpus (from decontam.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from curate.io.atomic import read_json


@dataclass
class PiiFigures:
    action: str
    kinds: list[str]
    per_source: dict[str, dict[str, int]]  # source -> type -> items found

    @property
    def note(self) -> str:
        how = "replaced by typed placeholders in selected/" if self.action == "redact" else "documents dropped, reason `pii`"
        return f"Action: {self.action} ({how})."


def pii_figures(sel: dict, config: dict) -> PiiFigures | None:
    pii = (config.get("select") or {}).get("pii")
    if not sel or not pii:
        return None
    per = {src: s.get("pii", {}) for src, s in (sel.get("sources") or {}).items() if s.get("pii")}
    kinds = sorted({k for v in per.values() for k in v})
    return PiiFigures(action=str(pii.get("action", "")), kinds=kinds, per_source=per)


@dataclass
class DecontamFigures:
    n: int
    action: str
    contaminated: int
    docs_in: int
    sets: list[dict] = field(default_factory=list)  # name, items, too_short, items_hit
    hits: list[dict] = field(default_factory=list)  # set, id, excerpt, documents, docs[]


def decontam_figures(path: Path) -> DecontamFigures | None:
    if not Path(path).exists():
        return None
    d = read_json(path)
    return DecontamFigures(n=d["n"], action=d["action"], contaminated=d["total"]["contaminated"], docs_in=d["total"]["docs_in"],
                           sets=[{"name": k, **v} for k, v in d["eval_sets"].items()], hits=list(d.get("items_hit") or []))


def pii_markdown(p: PiiFigures | None) -> list[str]:
    if p is None:
        return []
    out = ["## PII", "", p.note.replace(p.action, f"**{p.action}**", 1), ""]
    if not p.kinds:
        return out + ["No PII found in the selected documents.", ""]
    out += ["| source | " + " | ".join(p.kinds) + " |", "|---|" + "---:|" * len(p.kinds)]
    out += [f"| {src} | " + " | ".join(f"{v.get(k, 0):,}" for k in p.kinds) + " |" for src, v in p.per_source.items()]
    return out + [""]


def decontam_markdown(d: DecontamFigures | None) -> list[str]:
    if d is None:
        return []
    out = ["## Decontamination", "", f"{d.n}-gram overlap with the evaluation sets; action: **{d.action}**; "
           f"{d.contaminated:,} of {d.docs_in:,} documents overlap. Full list: `decontam.json`.", "",
           "| evaluation set | items | too short to match | items found in the corpus |", "|---|---:|---:|---:|"]
    out += [f"| {s['name']} | {s['items']:,} | {s['too_short']:,} | {s['items_hit']:,} |" for s in d.sets]
    if d.hits:
        out += ["", "| set | item | excerpt | documents | first documents (source, file:line) |", "|---|---|---|---:|---|"]
        for it in d.hits[:50]:
            ex = it["excerpt"][:60].replace("|", "\\|").replace("\n", " ")
            docs = "; ".join(f"{x['source']} {x['file']}:{x['line']}" for x in it["docs"][:3])
            out.append(f"| {it['set']} | {it['id']} | {ex} | {it['documents']:,} | {docs} |")
        if len(d.hits) > 50:
            out.append(f"| … | {len(d.hits) - 50:,} more in decontam.json | | | |")
    return out + [""]
