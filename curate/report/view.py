"""What the report's examples and rule histograms are drawn from, in memory that does not grow with the run.

`load_view` reads `RUN/decisions/` (written by select: per annotated row, the reason it was dropped —
null when kept — and every column a rule reads) one file at a time. Per file it adds up exact counts
(documents each rule dropped and kept, per source; documents per drop reason, per source) and keeps
a seeded sample of rows: every row while the run has at most `SAMPLE_ROWS` decision rows (so small
runs show exactly what they showed before sampling existed), else each row with probability
SAMPLE_ROWS / rows, chosen by a hash of (seed, task, row) — the same rows for the same run. Totals
in the report always come from the exact counts; examples and histograms come from the sample.
Lookups that must see every row (a document by id, the kept copy of a duplicate) stream the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.layout import RunLayout
from curate.report.facts import run_config
from curate.signals.minhash import splitmix64
from curate.stages.sections import SelectConfig
from curate.stages.select import scope_mask

SAMPLE_ROWS = 50_000  # decision rows (and annotated rows for the signal histograms) a report holds at most, about
_VIEW_SALT = "view"


@dataclass
class RunView:
    """The decisions of every annotated file (or a seeded sample of them), in task order, with exact counts."""

    run_dir: Path
    seed: int
    select: SelectConfig
    sources: list[dict]  # the config's sources (name, role, ...) in order
    decisions: pa.Table  # + `task` (index into `tasks`) and `row` (row in that annotated file)
    tasks: list[str]  # task keys `<source>/<NNNNN>-<stem>[.pKK]`
    config: dict = field(default_factory=dict)  # the run's config.yaml
    total_rows: int = 0  # decision rows of the run (the sample holds `decisions.num_rows` of them)
    rule_counts: dict = field(default_factory=dict)  # source -> [[dropped, kept] per rule]
    reason_counts: dict = field(default_factory=dict)  # source -> {reason: documents}
    paths: list[Path] = field(default_factory=list)  # the decisions file of each task

    @property
    def examples(self) -> int:
        return int((self.config.get("report") or {}).get("examples", 5))

    @property
    def available(self) -> bool:
        return self.total_rows > 0

    @property
    def sampled(self) -> bool:
        return self.decisions.num_rows < self.total_rows

    def annotated_path(self, task: int) -> Path:
        return RunLayout(self.run_dir).annotated(self.tasks[task])

    def rule_total(self, k: int, source: str | None = None) -> tuple[int, int]:
        """(dropped, kept) of rule k over every decision row (of one source)."""
        rows = [c[k] for s, c in self.rule_counts.items() if source is None or s == source]
        return sum(r[0] for r in rows), sum(r[1] for r in rows)

    def reason_total(self, reason: str, source: str | None = None) -> int:
        return sum(c.get(reason, 0) for s, c in self.reason_counts.items() if source is None or s == source)


def mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser (`curate.signals.minhash.splitmix64`) on a uint64 copy of `x`."""
    with np.errstate(over="ignore"):
        return splitmix64(np.array(x, dtype=np.uint64))


def row_keys(seed: int, task: np.ndarray, row: np.ndarray, salt: str) -> np.ndarray:
    """A seeded pseudo-random uint64 per (task, row) — unique addresses even where ids repeat."""
    salt_key = np.uint64(int.from_bytes(salt.encode("utf-8")[:8].ljust(8, b"\0"), "little") ^ (len(salt) << 56))
    task, row = np.asarray(task).astype(np.uint64), np.asarray(row).astype(np.uint64)
    with np.errstate(over="ignore"):
        return mix64(mix64((task << np.uint64(40)) ^ row ^ mix64(np.array([seed], np.uint64))[0]) ^ salt_key)


def sample_mask(seed: int, task: int, n: int, total: int, salt: str, bound: int | None = None) -> np.ndarray | None:
    """Rows 0..n-1 of one task kept in a sample of about `bound` (default SAMPLE_ROWS) of `total` rows; None: keep all."""
    bound = SAMPLE_ROWS if bound is None else bound
    if total <= bound:
        return None
    cut = np.uint64(min(int(bound / total * 2.0**64), 2**64 - 1))
    return row_keys(seed, np.full(n, task), np.arange(n), salt) < cut


def _count(view: RunView, t: pa.Table) -> None:
    """Add one decisions file's exact counts to the view."""
    reason = t.column("reason")
    rules = view.select.rules
    src = t.column("source").to_numpy(zero_copy_only=False) if t.num_rows else np.zeros(0, object)
    names = np.unique(src) if src.size else []
    dropped_by, reached_by = [], []
    for k, rule in enumerate(rules):
        later = pa.array([r.name for r in rules[k + 1:]], pa.string())
        reached = pc.or_(pc.is_null(reason), pc.is_in(reason, value_set=later)).to_numpy(zero_copy_only=False)
        dropped_by.append(pc.fill_null(pc.equal(reason, rule.name), False).to_numpy(zero_copy_only=False))
        reached_by.append(reached & scope_mask(t, rule))
    for s in names:
        m = src == s
        counts = view.rule_counts.setdefault(str(s), [[0, 0] for _ in rules])
        for k in range(len(rules)):
            counts[k][0] += int((dropped_by[k] & m).sum())
            counts[k][1] += int((reached_by[k] & m).sum())
        by_reason = view.reason_counts.setdefault(str(s), {})
        for item in pc.value_counts(reason.filter(pa.array(m))).to_pylist():
            if item["values"] is not None:
                by_reason[item["values"]] = by_reason.get(item["values"], 0) + item["counts"]


def load_view(run_dir: str | Path, bound: int | None = None) -> RunView:
    run = Path(run_dir)
    cfg = run_config(run)
    sources = cfg.get("sources") or []
    select = SelectConfig.model_validate(cfg.get("select") or {})
    root = RunLayout(run).decisions_dir
    names = [s["name"] for s in sources] or sorted(p.name for p in root.glob("*") if p.is_dir())
    paths = [p for name in names for p in sorted((root / name).glob("*.parquet"))]
    files = [pq.ParquetFile(p) for p in paths]  # (cheaper than pq.read_table on thousands of small files)
    total = sum(f.metadata.num_rows for f in files)
    view = RunView(run_dir=run, seed=int(cfg.get("seed", 0)), select=select, sources=sources, decisions=pa.table({}),
                   tasks=[f"{p.parent.name}/{p.name[: -len('.parquet')]}" for p in paths], config=cfg, total_rows=total, paths=paths)
    tables = []
    for i, pf in enumerate(files):
        t = pf.read()
        _count(view, t)
        t = t.append_column("task", pa.array(np.full(t.num_rows, i, dtype=np.int32)))
        t = t.append_column("row", pa.array(np.arange(t.num_rows, dtype=np.int64)))
        keep = sample_mask(view.seed, i, t.num_rows, total, _VIEW_SALT, bound)
        tables.append(t if keep is None else t.filter(pa.array(keep)))
    table = pa.concat_tables(tables, promote_options="default") if tables else pa.table({c: pa.array([], pa.string()) for c in ("id", "reason")})
    view.decisions = table.combine_chunks()
    return view


def stream_rows(view: RunView, sources: set[str] | None, where) -> pa.Table:
    """Every decision row (not only the sample) for which `where(table) -> boolean mask` holds, in
    task order, with `task` and `row`; reads one decisions file at a time, of the given sources only."""
    out = []
    for i, p in enumerate(view.paths):
        if sources is not None and p.parent.name not in sources:
            continue
        t = pq.ParquetFile(p).read()
        m = np.asarray(where(t), dtype=bool)
        if m.any():
            rows = np.flatnonzero(m)
            t = t.take(pa.array(rows))
            t = t.append_column("task", pa.array(np.full(rows.size, i, dtype=np.int32))).append_column("row", pa.array(rows.astype(np.int64)))
            out.append(t)
    return pa.concat_tables(out, promote_options="default").combine_chunks() if out else pa.table({})
