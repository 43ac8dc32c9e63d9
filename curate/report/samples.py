"""Example documents for every rule: which documents a rule dropped, and which it kept just above its
threshold, with the signal values that decided, the source file and line, and the text.

Drawn from `RUN/decisions/` (written by the select stage: per annotated row, the reason select dropped
it — null when kept — and the value of every column a rule reads, exactly as select saw them) and the
text in `RUN/annotated/`; nothing is re-evaluated. Samples are seeded with the run's seed, so
`report.html` and `curate show` print the same documents for the same run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.layout import RunLayout
from curate.pii.engine import scan as pii_scan
from curate.report.view import RunView, load_view, row_keys, stream_rows  # noqa: F401  (load_view: the report's entry point)
from curate.report.view import mix64 as _mix64
from curate.stages.sections import RuleConfig
from curate.stages.select import rule_columns, scope_mask
from curate.io.parquet_stream import open_parquet_stream

ID_COLUMNS = ("id", "source", "role", "file", "line")
QUARANTINE = "quarantine"
DEDUP = "dedup"
OTHER = "other"  # a reason neither a rule nor dedup gives (e.g. `contaminated`, `pii`)


@dataclass
class Example:
    """One document shown in the report or by `curate show`."""

    id: str
    source: str
    role: str
    file: str
    line: int
    fate: str  # "kept" or the reason that dropped it
    values: dict = field(default_factory=dict)  # the signal values that decided
    text: str = ""
    chars: int = 0  # length of the whole text (text may be cut)
    note: str = ""  # e.g. "duplicate of fin-12 (finance, a.jsonl:3)"
    twin: "Example | None" = None  # dedup: the copy that was kept

    def to_json(self) -> dict:
        d = {k: getattr(self, k) for k in ("id", "source", "role", "file", "line", "fate", "values", "text", "chars", "note")}
        if self.twin is not None:
            d["twin"] = self.twin.to_json()
        return d


def draw_order(view: RunView, idx: np.ndarray, salt: str) -> np.ndarray:
    """A seeded pseudo-random key per row (by task and row, which are unique even where ids repeat)."""
    return row_keys(view.seed, view.decisions.column("task").to_numpy()[idx], view.decisions.column("row").to_numpy()[idx], salt)


def _take(view: RunView, idx: np.ndarray, n: int, salt: str, margin: np.ndarray | None = None) -> np.ndarray:
    """n rows of `idx`: the smallest margins (ties and no margin: seeded random order)."""
    if idx.size == 0 or n <= 0:
        return idx[:0]
    key = draw_order(view, idx, salt)
    order = np.lexsort((key,) if margin is None else (key, margin))
    return idx[order[:n]]


# ---- which rows a rule saw, dropped, kept ------------------------------------------------------

def _reason(view: RunView) -> pa.ChunkedArray:
    return view.decisions.column("reason")


def rule_rows(view: RunView, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(dropped, kept) row indices of rule k: kept = reached the rule, in its scope, and passed it."""
    rules = view.select.rules
    rule = rules[k]
    reason = _reason(view)
    later = pa.array([r.name for r in rules[k + 1:]], pa.string())
    reached = pc.or_(pc.is_null(reason), pc.is_in(reason, value_set=later)).to_numpy(zero_copy_only=False)
    dropped = pc.fill_null(pc.equal(reason, rule.name), False).to_numpy(zero_copy_only=False)
    in_scope = scope_mask(view.decisions, rule) if view.decisions.num_rows else np.zeros(0, bool)
    return np.flatnonzero(dropped), np.flatnonzero(reached & in_scope)


def reached_rows(view: RunView, k: int) -> np.ndarray:
    dropped, kept = rule_rows(view, k)
    return np.sort(np.concatenate([dropped, kept]))


def sources_at(view: "RunView", idx: np.ndarray) -> np.ndarray:
    """The source of each decision row in `idx` (object array), converting only those rows to Python."""
    return np.asarray(view.decisions.column("source").take(pa.array(np.asarray(idx, dtype=np.int64))).to_pylist(), dtype=object)


def column_values(view: RunView, name: str, idx: np.ndarray) -> np.ndarray:
    if name not in view.decisions.column_names:
        return np.full(idx.size, np.nan)
    col = view.decisions.column(name)
    if pa.types.is_boolean(col.type) or pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return pc.fill_null(pc.cast(col, pa.float64()), np.nan).to_numpy()[idx]
    return np.full(idx.size, np.nan)


def comparisons(expr: str) -> list[tuple[str, float]]:
    """(column, constant) of every `column <op> number` comparison in an expression."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return []
    out = []

    def num(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = num(node.operand)
            return None if v is None else -v
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            terms = [node.left, *node.comparators]
            for a, b in zip(terms, terms[1:]):
                if isinstance(a, ast.Name) and num(b) is not None:
                    out.append((a.id, num(b)))
                elif isinstance(b, ast.Name) and num(a) is not None:
                    out.append((b.id, num(a)))
    return sorted(set(out))


def thresholds(rule: RuleConfig, cutoffs: dict) -> list[tuple[str, float, str]]:
    """(column, value, label) of the lines a rule draws on its histograms."""
    if rule.mode == "threshold":
        return [(rule.column, float(rule.threshold), "threshold")]
    if rule.mode == "top_fraction":
        return [(rule.column, float(v), f"cutoff {k}" if k != "*" else "cutoff") for k, v in sorted((cutoffs.get(rule.name) or {}).items())
                if v is not None and np.isfinite(v)]  # an infinite cutoff (nothing kept) is null in stats.json
    if rule.mode == "expr":
        return [(c, v, c) for c, v in comparisons(rule.keep or rule.drop or "")]
    return []


def margin(view: RunView, rule: RuleConfig, idx: np.ndarray, cutoffs: dict) -> np.ndarray | None:
    """How close each kept row came to being dropped (smaller: closer), or None where a rule has no
    threshold to be close to (expressions over booleans and strings only)."""
    if rule.mode == "threshold":
        return column_values(view, rule.column, idx) - float(rule.threshold)
    if rule.mode == "pareto":  # kept at random with a probability that grows with the score: lowest scores first
        return column_values(view, rule.column, idx)
    if rule.mode == "top_fraction":
        per = {k: (np.inf if v is None else float(v)) for k, v in (cutoffs.get(rule.name) or {}).items()}
        v = column_values(view, rule.column, idx)
        if rule.per_source:
            src = sources_at(view, idx)
            cut = np.array([per.get(s, -np.inf) for s in src], dtype=np.float64)
        else:
            cut = np.full(idx.size, per.get("*", -np.inf))
        return v - cut
    comps = comparisons(rule.keep or rule.drop or "")
    if not comps:
        return None
    best = np.full(idx.size, np.inf)
    for col, c in comps:
        v = column_values(view, col, idx)
        scale = float(np.nanstd(v)) if np.isfinite(v).any() else 0.0
        d = np.abs(v - c) / (scale if scale > 0 else 1.0)
        best = np.fmin(best, np.where(np.isfinite(d), d, np.inf))
    return best


# ---- building examples -------------------------------------------------------------------------

def _texts(view: RunView, sub: pa.Table, limit: int) -> dict[int, tuple[str, int]]:
    """Text (cut at `limit` characters) and full length of each row of `sub` (by position), reading each annotated file once."""
    out: dict[int, tuple[str, int]] = {}
    if sub.num_rows == 0:
        return out
    idx = np.arange(sub.num_rows)
    task = sub.column("task").to_numpy()
    row = sub.column("row").to_numpy()
    for t in np.unique(task):
        sel = np.flatnonzero(task == t)
        path = view.annotated_path(int(t))
        if not path.exists():
            continue
        col = pq.read_table(path, columns=["text"]).column("text").take(pa.array(row[sel]))
        if view.select.pii is not None:  # show what the run ships: PII replaced by its placeholders
            col = pii_scan(col, view.select.pii)[0]
        for i, s in zip(sel, col.to_pylist()):
            s = s or ""
            out[int(idx[i])] = (s[:limit], len(s))
    return out


def _value(v):
    if isinstance(v, float):
        return round(v, 4) if np.isfinite(v) else None
    return v


def examples(view: RunView, idx: np.ndarray, columns: list[str], fate_of=None, limit: int = 20_000) -> list[Example]:
    if idx.size == 0:
        return []
    return examples_of(view, view.decisions.take(pa.array(idx)), columns, limit)


def examples_of(view: RunView, sub: pa.Table, columns: list[str], limit: int = 20_000) -> list[Example]:
    """Examples of decision rows given as a table (with `task` and `row`): from the sample or streamed."""
    if sub.num_rows == 0:
        return []
    texts = _texts(view, sub, limit)
    cols = [c for c in columns if c in sub.column_names]
    rows = sub.select([c for c in ID_COLUMNS if c in sub.column_names] + ["reason"] + cols).to_pylist()
    out = []
    for i, r in enumerate(rows):
        text, chars = texts.get(i, ("", 0))
        out.append(Example(id=str(r.get("id")), source=str(r.get("source")), role=str(r.get("role")), file=str(r.get("file")),
                           line=int(r.get("line") or 0), fate=r["reason"] or "kept", values={c: _value(r[c]) for c in cols},
                           text=text, chars=chars))
    return out


@dataclass
class RuleSample:
    name: str
    kind: str  # "rule", "dedup" or "quarantine"
    description: str
    columns: list[str]
    dropped_total: int
    kept_total: int
    dropped: list[Example]
    kept: list[Example]
    kept_label: str = "kept just above its threshold"

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "description": self.description, "columns": self.columns,
                "dropped_total": self.dropped_total, "kept_total": self.kept_total, "kept_label": self.kept_label,
                "dropped": [e.to_json() for e in self.dropped], "kept": [e.to_json() for e in self.kept]}


def describe(rule: RuleConfig) -> str:
    if rule.mode == "expr":
        what = f"keep {rule.keep}" if rule.keep is not None else f"drop {rule.drop}"
    elif rule.mode == "threshold":
        what = f"keep {rule.column} >= {rule.threshold:g}"
    elif rule.mode == "top_fraction":
        what = f"keep the top {rule.fraction:.0%} by {rule.column}" + (" per source" if rule.per_source else "")
    else:
        what = f"keep at random with probability (2 - {rule.column})^-{rule.alpha:g} (Pareto, alpha {rule.alpha:g})"
    scope = []
    if rule.sources is not None:
        scope.append("sources " + ", ".join(rule.sources))
    if rule.roles is not None:
        scope.append("roles " + ", ".join(rule.roles))
    return what + (f" — only {'; '.join(scope)}" if scope else "")


def rule_sample(view: RunView, k: int, n: int, cutoffs: dict, limit: int = 20_000, source: str | None = None) -> RuleSample:
    rule = view.select.rules[k]
    dropped, kept = rule_rows(view, k)
    if source is not None:
        src = view.decisions.column("source")
        is_src = pc.equal(src, source).to_numpy(zero_copy_only=False)
        dropped, kept = dropped[is_src[dropped]], kept[is_src[kept]]
    cols = sorted(rule_columns(rule))
    totals = view.rule_total(k, source)  # exact, over every row (the examples come from the sample)
    m = margin(view, rule, kept, cutoffs)
    label = "kept with the lowest scores (kept at random, more often the higher the score)" if rule.mode == "pareto" else (
        "kept just above its threshold" if m is not None else "kept (a seeded random sample: the rule has no numeric threshold)")
    return RuleSample(
        name=rule.name, kind="rule", description=describe(rule), columns=cols, dropped_total=totals[0], kept_total=totals[1],
        dropped=examples(view, _take(view, dropped, n, f"drop:{rule.name}"), cols, limit=limit),
        kept=examples(view, _take(view, kept, n, f"kept:{rule.name}", m), cols, limit=limit), kept_label=label)


def _twins_of(drops_path: Path, keys: set[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, str]]:
    """(cluster, cluster_source) of the given (file, row) drops, streaming drops.parquet batch by batch."""
    out: dict[tuple[str, int], tuple[str, str]] = {}
    if not keys:
        return out
    files = pa.array(sorted({f for f, _ in keys}), pa.string())
    for batch in open_parquet_stream(drops_path).iter_batches(batch_size=65_536, columns=["file", "row", "cluster", "cluster_source"]):
        m = pc.is_in(batch.column("file"), value_set=files)
        if not pc.any(m).as_py():
            continue
        sub = pa.Table.from_batches([batch]).filter(m)
        for f, r, c, cs in zip(*(sub.column(x).to_pylist() for x in ("file", "row", "cluster", "cluster_source"))):
            if (f, r) in keys:
                out[(f, r)] = (c, cs)
    return out


def _kept_copies(view: RunView, wanted: set[tuple[str, str]], skip: list[str]) -> dict[tuple[str, str], pa.Table]:
    """The first decision row (task order) of each (id, source) in `wanted` whose reason is not in `skip`:
    from the decisions in memory, or streamed from every file of those sources when they are a sample."""
    if not wanted:
        return {}
    ids, srcs = pa.array(sorted({i for i, _ in wanted}), pa.string()), pa.array(sorted({s for _, s in wanted}), pa.string())

    def where(t: pa.Table) -> np.ndarray:
        m = pc.and_(pc.is_in(t.column("id"), value_set=ids), pc.is_in(t.column("source"), value_set=srcs))
        m = pc.and_(m, pc.invert(pc.fill_null(pc.is_in(t.column("reason"), value_set=pa.array(skip, pa.string())), False)))
        return pc.fill_null(m, False).to_numpy(zero_copy_only=False)

    found = stream_rows(view, {s for _, s in wanted}, where) if view.sampled else view.decisions.filter(pa.array(where(view.decisions)))
    out: dict[tuple[str, str], pa.Table] = {}
    if found.num_rows:
        for i, key in enumerate(zip(found.column("id").to_pylist(), found.column("source").to_pylist())):
            if key in wanted and key not in out:
                out[key] = found.slice(i, 1)
    return out


def dedup_samples(view: RunView, n: int, limit: int = 20_000, source: str | None = None) -> list[RuleSample]:
    """Per dedup reason: dropped copies, each with the copy that was kept (its `twin`); per other reason
    select applied (`contaminated`, `pii`): dropped documents."""
    drops_path = RunLayout(view.run_dir).drops
    if not drops_path.exists() or not view.available:
        return []
    rule_names = {r.name for r in view.select.rules}
    reason = _reason(view)
    reasons = sorted({r for c in view.reason_counts.values() for r, v in c.items() if v and r not in rule_names})
    out = []
    for name in reasons:
        dup = name.endswith("_duplicate")
        mask = pc.fill_null(pc.equal(reason, name), False).to_numpy(zero_copy_only=False)
        if source is not None:
            mask &= pc.equal(view.decisions.column("source"), source).to_numpy(zero_copy_only=False)
        idx = np.flatnonzero(mask)
        total = view.reason_total(name, source)  # exact, over every row (the examples come from the sample)
        chosen = _take(view, idx, n, f"drop:{name}")
        ex = examples(view, chosen, [], limit=limit)
        if not dup:  # dropped by another stage (decontamination, PII at select): no kept copy to show
            out.append(RuleSample(name=name, kind=OTHER, description=f"dropped as {name.replace('_', ' ')}", columns=[],
                                  dropped_total=total, kept_total=0, dropped=ex, kept=[], kept_label=""))
            continue
        task, row = view.decisions.column("task").to_numpy(), view.decisions.column("row").to_numpy()
        keys = [(view.tasks[int(task[i])], int(row[i])) for i in chosen]
        twin_of = _twins_of(drops_path, set(keys))
        for key, e in zip(keys, ex):
            cid, csrc = twin_of.get(key, (None, None))
            e.values = {"duplicate_of": cid, "duplicate_of_source": csrc}
        # the copy dedup kept (a later rule may still have dropped it)
        copies = _kept_copies(view, {(e.values["duplicate_of"], e.values["duplicate_of_source"]) for e in ex
                                     if e.values["duplicate_of"] is not None}, reasons)
        twins = [(e, copies[(e.values["duplicate_of"], e.values["duplicate_of_source"])]) for e in ex
                 if (e.values["duplicate_of"], e.values["duplicate_of_source"]) in copies]
        kept = examples_of(view, pa.concat_tables([t for _, t in twins]), [], limit=limit) if twins else []
        for (e, _), t in zip(twins, kept):
            e.twin = t
            e.note = f"duplicate of {t.id} ({t.source}, {t.file}:{t.line})"
        out.append(RuleSample(name=name, kind=DEDUP, description=f"dropped as {name.replace('_', ' ')} of a document that was kept",
                              columns=["duplicate_of", "duplicate_of_source"], dropped_total=total, kept_total=0,
                              dropped=ex, kept=[], kept_label=""))
    return out


def quarantine_sample(run_dir: str | Path, n: int, seed: int, source: str | None = None, pii=None) -> RuleSample | None:
    """Bad records (unreadable, malformed, missing text): a seeded sample with file, line, reason
    (excerpts redacted with `pii`, the select stage's PII config, when given)."""
    root = RunLayout(run_dir).quarantine_dir
    records = []
    for p in sorted(root.glob("*/*.jsonl")):
        if source is not None and p.parent.name != source:
            continue
        for line in p.read_bytes().splitlines():
            if line.strip():
                r = orjson.loads(line)
                r["_source"] = p.parent.name
                records.append(r)
    if not records:
        return None
    keys = np.arange(len(records), dtype=np.uint64)
    order = np.argsort(_mix64(keys ^ _mix64(np.array([seed], np.uint64))[0]), kind="stable")[:n]
    ex = [Example(id=str(records[i].get("id") or ""), source=records[i]["_source"], role="", file=str(records[i].get("file", "")),
                  line=int(records[i].get("line") or 0), fate=str(records[i].get("reason", "")),
                  values={"reason": records[i].get("reason"), "detail": records[i].get("detail")},
                  text=str(records[i].get("excerpt") or ""), chars=len(str(records[i].get("excerpt") or "")))
          for i in sorted(order.tolist())]
    if pii is not None and ex:
        for e, t in zip(ex, pii_scan(pa.array([e.text for e in ex], pa.string()), pii)[0].to_pylist()):
            e.text = t
    return RuleSample(name=QUARANTINE, kind=QUARANTINE, description="records that could not be read as documents (kept in quarantine/ with file, line and reason)",
                      columns=["reason", "detail"], dropped_total=len(records), kept_total=0, dropped=ex, kept=[], kept_label="")


def all_samples(view: RunView, n: int, cutoffs: dict, limit: int = 20_000, source: str | None = None) -> list[RuleSample]:
    """Every select rule (in order), then dedup reasons, then quarantine."""
    out = [rule_sample(view, k, n, cutoffs, limit, source) for k in range(len(view.select.rules))] if view.available else []
    out += dedup_samples(view, n, limit, source)
    q = quarantine_sample(view.run_dir, n, view.seed, source, view.select.pii)
    if q is not None:
        out.append(q)
    return out


def find_id(view: RunView, doc_id: str, source: str | None = None, limit: int = 20_000) -> list[Example]:
    """Every row with this id (ids may repeat across sources), with its fate and every rule column."""
    if not view.available:
        return []
    def where(t: pa.Table) -> np.ndarray:
        mask = pc.equal(t.column("id"), doc_id)
        if source is not None:
            mask = pc.and_(mask, pc.equal(t.column("source"), source))
        return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)

    cols = sorted({c for r in view.select.rules for c in rule_columns(r)})
    if view.sampled:  # every row, not only the sample's: stream the decisions files
        return examples_of(view, stream_rows(view, None if source is None else {source}, where), cols, limit=limit)
    return examples(view, np.flatnonzero(where(view.decisions)), cols, limit=limit)
