"""The numbers both reports print, computed once from stats.json and the mixture: the funnel per
source and per role, tokens per source (train and held-out kept apart), the mixture per role and per
source, and how much of the mixture repeats data.

One denominator everywhere: "kept %" is kept documents over documents read (quarantined records
included), and "Kept N of M" uses the same M.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from curate.layout import RunLayout

HIST_COLUMNS = ("word_count", "mean_word_length", "alpha_word_fraction", "lang_score", "duplicate_line_fraction",
                "punct_end_line_fraction")


@dataclass
class FunnelRow:
    name: str
    read: int = 0
    quarantined: int = 0
    drops: dict[str, int] = field(default_factory=dict)  # reason -> documents, dedup reasons first
    kept: int = 0

    @property
    def parsed(self) -> int:
        return self.read - self.quarantined

    @property
    def deduplicated(self) -> int:
        return self.parsed - sum(v for k, v in self.drops.items() if k.endswith("_duplicate"))

    @property
    def kept_pct(self) -> float:
        return 100.0 * self.kept / self.read if self.read else 0.0

    def add(self, other: "FunnelRow") -> None:
        self.read += other.read
        self.quarantined += other.quarantined
        self.kept += other.kept
        for k, v in other.drops.items():
            self.drops[k] = self.drops.get(k, 0) + v


def source_roles(config: dict) -> dict[str, str]:
    return {s["name"]: s.get("role", "general") for s in config.get("sources", [])}


def funnel_by_source(stats: dict) -> dict[str, FunnelRow]:
    """Per source: read, quarantined, drops per reason (dedup and each rule), kept."""
    rows: dict[str, FunnelRow] = {}
    for src, a in stats.get("annotate", {}).get("sources", {}).items():
        rows[src] = FunnelRow(src, read=a.get("docs_in", 0), quarantined=sum(quarantine_reasons(a).values()))
    for src, s in stats.get("select", {}).get("sources", {}).items():
        r = rows.setdefault(src, FunnelRow(src, read=s.get("docs_in", 0)))
        r.drops = dict(sorted(s.get("drops", {}).items(), key=lambda kv: (not kv[0].endswith("_duplicate"), kv[0])))
        r.kept = s.get("docs_out", 0)
    return rows


def quarantine_reasons(annotate_source: dict) -> dict[str, int]:
    """Bad records per reason of one source: the annotate stage's drops (or `quarantined`)."""
    q = annotate_source.get("quarantined")
    if not isinstance(q, dict):
        q = annotate_source.get("drops") or {}
    return {k: int(v) for k, v in q.items()}


def funnel_by_role(stats: dict, config: dict) -> dict[str, FunnelRow]:
    """Per role: the select stage's per-role stats where it routes documents (`roles`), else each
    source's rows added up under the role the config gives it."""
    by_src = funnel_by_source(stats)
    roles = source_roles(config)
    out: dict[str, FunnelRow] = {}
    for src, r in by_src.items():
        role = roles.get(src, "?")
        out.setdefault(role, FunnelRow(role)).add(r)
    routed = stats.get("select", {}).get("roles")
    if isinstance(routed, dict) and routed:  # routing splits a source among roles at select time
        for role, s in routed.items():
            row = out.setdefault(role, FunnelRow(role))
            row.kept = s.get("docs_out", row.kept)
    return dict(sorted(out.items()))


def reason_order(rows: dict[str, FunnelRow], rule_names: list[str]) -> list[str]:
    """Drop reasons in the order they apply: dedup reasons, the rules as configured, then any other."""
    seen = {k for r in rows.values() for k in r.drops}
    dedup = sorted(k for k in seen if k.endswith("_duplicate"))
    rules = [n for n in rule_names if n in seen]
    rest = sorted(seen - set(dedup) - set(rules))
    return dedup + rules + rest


@dataclass
class TokenRow:
    source: str
    train_docs: int
    train_tokens: int
    heldout_docs: int
    heldout_tokens: int


def tokens_by_source(stats: dict) -> list[TokenRow]:
    """The tokenize stage counts every selected document; held-out ones are taken out of `train`."""
    out = []
    for src, s in stats.get("tokenize", {}).get("sources", {}).items():
        vd = s.get("heldout_docs", s.get("val_docs", 0))
        vt = s.get("heldout_tokens", s.get("val_tokens", 0))
        if "train_docs" in s:  # counted apart already
            out.append(TokenRow(src, s["train_docs"], s.get("train_tokens", 0), vd, vt))
            continue
        docs = s.get("docs", s.get("docs_out", 0))
        out.append(TokenRow(src, docs - vd, s.get("tokens", 0) - vt, vd, vt))
    return out


@dataclass
class MixRow:
    name: str
    kind: str  # "role" or "source"
    target: float | None  # share of tokens asked for (None: not targeted at this level)
    achieved: float
    tokens: int
    unique_tokens: int  # distinct tokens available (train split)
    epochs: float | None = None
    role: str = ""

    @property
    def repeated_tokens(self) -> int:
        return max(0, self.tokens - self.unique_tokens)


def mixture_rows(mixture: dict) -> list[MixRow]:
    """Every role and every source, with target (where one was set) and achieved shares."""
    if not mixture:
        return []
    total = mixture.get("total_tokens") or sum(s.get("tokens", 0) for s in mixture.get("sources", {}).values()) or 1
    by = mixture.get("by", "role")
    target = mixture.get("target", {})
    srcs = mixture.get("sources", {})
    roles: dict[str, MixRow] = {}
    rows_src = []
    for name, s in srcs.items():
        role = s.get("role", "")
        tok, uniq = int(s.get("tokens", 0)), int(s.get("available_tokens", 0))
        rows_src.append(MixRow(name, "source", target.get(name) if by == "source" else None, tok / total, tok,
                               min(tok, uniq), s.get("epochs"), role))
        r = roles.setdefault(role, MixRow(role, "role", None, 0.0, 0, 0, None, role))
        r.tokens += tok
        r.unique_tokens += min(tok, uniq)
    for role, r in roles.items():
        r.achieved = r.tokens / total
        if by == "role":
            r.target = target.get(role)
        else:
            shares = [target[s.name] for s in rows_src if s.role == role and s.name in target]
            r.target = sum(shares) if shares else None
    for k in target:  # a target with no tokens at all still shows
        if by == "role" and k not in roles:
            roles[k] = MixRow(k, "role", target[k], 0.0, 0, 0, None, k)
    return [roles[k] for k in sorted(roles)] + rows_src


def shards_summary(manifest: dict) -> dict:
    shards = manifest.get("shards", [])
    train = [s for s in shards if s.get("split") == "train"]
    val = [s for s in shards if s.get("split") != "train"]
    return {"folder": "shards/", "train_files": len(train), "train_tokens": sum(s.get("tokens", 0) for s in train),
            "train_documents": sum(s.get("documents", 0) for s in train), "val_files": len(val),
            "val_tokens": sum(s.get("tokens", 0) for s in val), "paths": [s.get("path") for s in shards]}


def annotated_files(run: Path, config: dict) -> list[Path]:
    """The run's annotated Parquet files: sources in config order, files in task order."""
    names = [s["name"] for s in config.get("sources", [])]
    root = RunLayout(run).annotated_dir
    return [p for n in names for p in sorted((root / n).glob("*.parquet"))]


def signal_columns(annotated: list[Path]) -> list[str]:
    """Columns worth a histogram: the main heuristics, classifier scores and keyword densities."""
    if not annotated:
        return []
    names = pq.ParquetFile(annotated[0]).schema_arrow.names
    return [c for c in names if c in HIST_COLUMNS or c.endswith("_score") or (c.startswith("kw_") and c.endswith("_per_1k"))]


_TABLES: dict = {}  # the annotated files' signal columns, read once per report (both reports use them)


def annotated_rows(annotated: list[Path]) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in annotated)


def _signal_tables(annotated: list[Path], cols: list[str], seed: int = 0) -> list:
    """Each annotated file's signal columns plus `role` and `source` (every row, or a seeded sample of
    about SAMPLE_ROWS rows when the run has more), read once for report.md and report.html together
    (`clear_cache` drops them when the reports are written)."""
    from curate.report import view  # (view imports this module)

    key = (seed, view.SAMPLE_ROWS, tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in annotated))
    if _TABLES.get("key") != key or not set(cols) <= _TABLES["cols"]:
        want = set(signal_columns(annotated)) | set(cols)
        tables = []
        total = annotated_rows(annotated)
        for i, p in enumerate(annotated):
            pf = pq.ParquetFile(p)  # not pq.read_table: its dataset set-up costs ~5x the read of a small file
            t = pf.read(columns=[c for c in pf.schema_arrow.names if c in want or c in ("role", "source")])
            keep = view.sample_mask(seed, i, t.num_rows, total, "signals")
            tables.append(t if keep is None else t.filter(keep))
        _TABLES.clear()
        _TABLES.update(key=key, cols=want, tables=tables)
    return _TABLES["tables"]


def clear_cache() -> None:
    _TABLES.clear()


def signal_sample_note(annotated: list[Path]) -> str:
    """How the signal histograms were drawn: "" for every document, else which sample."""
    from curate.report import view

    total = annotated_rows(annotated)
    return "" if total <= view.SAMPLE_ROWS else f"a seeded sample of about {view.SAMPLE_ROWS:,} of the {total:,} annotated documents"


def signal_values(annotated: list[Path], cols: list[str], by: str, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Per column, its values grouped by `by` (`role` or `source`), groups sorted by name (a seeded
    sample of rows when the run has more than SAMPLE_ROWS annotated documents)."""
    data: dict[str, dict[str, list]] = {c: {} for c in cols}
    for t in _signal_tables(annotated, cols, seed):
        use = [c for c in cols if c in t.column_names]
        groups = t.column(by).to_numpy(zero_copy_only=False)
        for g in np.unique(groups):
            m = groups == g
            for c in use:
                data[c].setdefault(str(g), []).append(pc.cast(t.column(c), "float64").to_numpy(zero_copy_only=False)[m])
    return {c: {g: np.concatenate(v) for g, v in sorted(d.items())} for c, d in data.items()}


def run_config(run: Path) -> dict:
    """The config a run was made with (its config.yaml), or {} where there is none."""
    path = RunLayout(run).config_yaml
    if not path.exists():
        return {}
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
