"""Select: thresholds, expressions, top-k% and Pareto sampling over the stored signal columns.

Cheap and re-runnable: it reads annotated Parquet, never recomputes a signal. A document is dropped
by the first rule it fails (after dedup), and that rule's name is the drop reason in stats.json.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.stages.sections import RuleConfig, SelectConfig
from curate import stats
from curate.context import RunContext
from curate.dedup.lookup import file_drops
from curate.errors import ConfigError
from curate.exec.base import Task, marker_fingerprint, marker_path, pack_tasks, read_marker
from curate.fingerprint import content_hash, digest
from curate.expr import compile_expr, evaluate, names_in
from curate.io.atomic import atomic_path
from curate.pii.engine import apply_to_table as apply_pii
from curate.sampling import doc_keys, unit_hash
from curate.adapt.stage import sidecars_for
from curate.stages import unit_stats
from curate.stages.base import Stage

STAGE = "select"
HEAVY_COLUMNS = ("minhash", "cascade_stop")  # not needed downstream of select
DECISION_ID_COLUMNS = ("id", "source", "role", "file", "line")
PACK_BYTES = 4e6  # annotated bytes per pack of small files' tasks at most


def rule_columns(rule: RuleConfig) -> set[str]:
    if rule.mode == "expr":
        return names_in(rule.keep or rule.drop or "")
    return {rule.column}


def rule_keep_mask(table: pa.Table, rule: RuleConfig, cutoff: float | None, seed: int, where: str) -> np.ndarray:
    """Boolean numpy mask of documents the rule keeps (before source/role scoping)."""
    if rule.mode == "expr":
        text = rule.keep or rule.drop
        expr = compile_expr(text, table.column_names, where=f"{where} rule `{rule.name}`")
        try:
            values = evaluate(table, expr)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            # e.g. min(lang, 3) or word_count == 'x': the column types do not fit the operation
            types = ", ".join(f"{n}: {table.schema.field(n).type}" for n in sorted(names_in(text)) if n in table.column_names)
            raise ConfigError(f"`{text}` cannot be evaluated: {str(exc).splitlines()[0]}", where=f"{where} rule `{rule.name}`",
                              fix=f"compare values of matching types (columns: {types})") from None
        mask = np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)
        return mask if rule.keep is not None else ~mask
    if rule.column not in table.column_names:
        raise ConfigError(f"rule `{rule.name}` needs column `{rule.column}`, which the annotate stage did not produce",
                          where=where, fix=f"add the signal that makes `{rule.column}` under annotate:, or fix the column name")
    col = pc.fill_null(pc.cast(table.column(rule.column), pa.float64()), -np.inf).to_numpy()
    if rule.mode == "threshold":
        return col >= rule.threshold
    if rule.mode == "top_fraction":
        return col >= (cutoff if cutoff is not None else -np.inf)
    if rule.mode == "pareto":
        # GPT-3: keep iff np.random.pareto(alpha) > 1 - score. With Lomax X = U^(-1/alpha) - 1 this is
        # U < (2 - score)^(-alpha); U in (0, 1] comes from a hash of (seed, rule, document key) so it is order-free.
        u = 1.0 - unit_hash(doc_keys(table), seed, rule.name)
        score = np.clip(np.nan_to_num(col, neginf=0.0), 0.0, 1.0)
        return u < np.power(2.0 - score, -rule.alpha)
    raise AssertionError(rule.mode)


def scope_mask(table: pa.Table, rule: RuleConfig) -> np.ndarray:
    m = np.ones(table.num_rows, dtype=bool)
    if rule.sources is not None:
        m &= pc.is_in(table.column("source"), value_set=pa.array(rule.sources)).to_numpy(zero_copy_only=False)
    if rule.roles is not None:
        m &= pc.is_in(table.column("role"), value_set=pa.array(rule.roles)).to_numpy(zero_copy_only=False)
    return m


def apply_rules(table: pa.Table, cfg: SelectConfig, cutoffs: dict, seed: int, dup_reasons: pa.Table | None,
                where: str, upto: int | None = None) -> tuple[np.ndarray, Counter]:
    """Alive mask after dedup and rules[:upto]; Counter of drop reasons."""
    alive, reasons, _ = decide(table, cfg, cutoffs, seed, dup_reasons, where, upto)
    return alive, reasons


def decide(table: pa.Table, cfg: SelectConfig, cutoffs: dict, seed: int, dup_reasons: pa.Table | None,
           where: str, upto: int | None = None) -> tuple[np.ndarray, Counter, pa.Array]:
    """Alive mask, Counter of drop reasons, and per row the reason that dropped it (null: kept)."""
    alive = np.ones(table.num_rows, dtype=bool)
    names: list[str] = []
    why = np.full(table.num_rows, -1, dtype=np.int32)
    reasons: Counter[str] = Counter()
    if dup_reasons is not None and dup_reasons.num_rows:
        rows = dup_reasons.column("row").to_numpy()
        alive[rows] = False
        for item in pc.value_counts(dup_reasons.column("reason")).to_pylist():
            reasons[item["values"]] += item["counts"]
            why[rows[pc.equal(dup_reasons.column("reason"), item["values"]).to_numpy(zero_copy_only=False)]] = len(names)
            names.append(item["values"])
    for rule in cfg.rules[:upto]:
        keep = rule_keep_mask(table, rule, _cutoff(cutoffs, rule, table), seed, where)
        drop = alive & scope_mask(table, rule) & ~keep
        n = int(drop.sum())
        if n:
            reasons[rule.name] += n
            alive &= ~drop
            why[drop] = len(names)
            names.append(rule.name)
    reason = pa.array(names, pa.string()).take(pa.array(why, mask=why < 0))
    return alive, reasons, reason


def with_reason(reason: pa.Array, rows: np.ndarray, name: str) -> pa.Array:
    """`reason` with these rows set to `name` (a drop decided after the rules, e.g. PII)."""
    r = reason.to_numpy(zero_copy_only=False).astype(object)
    r[rows] = name
    return pa.array(r, pa.string())


def decisions_table(table: pa.Table, cfg: SelectConfig, reason: pa.Array) -> pa.Table:
    """One row per annotated row: identity, the reason it was dropped (null: kept) and the values of
    every column a rule reads, as select saw them. The report's examples are drawn from these."""
    keep = [c for c in DECISION_ID_COLUMNS if c in table.column_names]
    used = sorted({c for r in cfg.rules for c in rule_columns(r) if c in table.column_names} - set(keep) - {"text"})
    return table.select(keep + used).append_column("reason", reason)


def _cutoff(cutoffs: dict, rule: RuleConfig, table: pa.Table) -> float | None:
    if rule.mode != "top_fraction":
        return None
    per = cutoffs.get(rule.name, {})
    if rule.per_source:
        srcs = set(table.column("source").to_pylist()) if table.num_rows else set()
        # one file holds one source
        return per.get(next(iter(srcs))) if srcs else None
    return per.get("*")


def load_dup_reasons(path: str | None, file_key: str, contaminated: str | None = None) -> pa.Table | None:
    """Rows of one annotated file that the dedup stage dropped, with their reason; plus the rows the
    decontam stage flagged (reason `contaminated`) when `contaminated` names its hits file. A row
    that is both counts once, as a duplicate."""
    out = None
    if path and Path(path).exists():
        out = file_drops(path, file_key)  # this file's drops only (the per-file index), not the whole table
    if contaminated and Path(contaminated).exists():
        rows = pq.read_table(contaminated, columns=["row"]).column("row").combine_chunks()
        if out is not None and out.num_rows:
            rows = rows.filter(pc.invert(pc.is_in(rows, value_set=out.column("row").combine_chunks())))
        extra = pa.table({"row": rows.cast(pa.int64()), "reason": pa.array(["contaminated"] * len(rows), pa.string())})
        out = extra if out is None else pa.concat_tables([out.cast(extra.schema), extra]).combine_chunks()
    return out


def read_annotated(path: str, sidecars: list[str] = (), columns: list[str] | None = None) -> pa.Table:
    """An annotated file with the adapt stage's sidecar columns joined by row (same rows, same order)."""
    pf = pq.ParquetFile(path)
    names = [c for c in pf.schema_arrow.names if c not in HEAVY_COLUMNS]
    table = pf.read(columns=[c for c in names if columns is None or c in columns])
    for side in sidecars:
        if not Path(side).exists():
            raise ConfigError(f"the adapt stage's columns for {path} are missing", where=side, fix="run the adapt stage (curate run without --stage, or --stage adapt)")
        extra = pq.read_table(side)
        if extra.num_rows != table.num_rows:
            raise ConfigError(f"adapt columns have {extra.num_rows} rows, the annotated file {table.num_rows}", where=side,
                              fix="the run directory mixes two runs: rerun with --fresh")
        for name in extra.column_names:
            if (columns is None or name in columns) and name not in table.column_names:
                table = table.append_column(name, extra.column(name))
    return table


def route(table: pa.Table, alive: np.ndarray, routes: list[dict], where: str) -> tuple[pa.Array, np.ndarray, Counter]:
    """Roles of a routed source's documents: the first route whose `when` holds wins; alive documents
    no route matches are dropped (reason `unrouted`). Returns (role column, new alive mask, per-role counts)."""
    which = np.full(table.num_rows, -1, dtype=np.int32)  # index of the route taken, -1 = none
    todo = alive.copy()
    for k, r in enumerate(routes):
        expr = compile_expr(r["when"], table.column_names, where=f"{where} route to `{r['role']}`")
        hit = todo & np.asarray(pc.fill_null(evaluate(table, expr), False).to_numpy(zero_copy_only=False), dtype=bool)
        which[hit] = k
        todo &= ~hit
    routed = alive & ~todo
    names = pa.array([r["role"] for r in routes], pa.string())
    roles = names.take(pa.array(which, mask=which < 0))  # null where no route matched (those rows are dropped)
    counts: Counter = Counter()
    for k, r in enumerate(routes):
        counts[r["role"]] += int((which == k).sum())
    return roles, routed, counts


def select_file(*, annotated: str, out: str, source: str, key: str, cfg: dict, cutoffs: dict, seed: int, drops: str | None,
                contaminated: str | None = None, decisions: str | None = None, sidecars: list[str] = (),
                routes: list[dict] | None = None, reader: str = "", members: list[str] | None = None) -> dict:
    """One annotated unit's rules -> its selected and decisions files. `members` (a pack unit's files,
    in order) makes the stats per member file (`curate.stages.unit_stats`)."""
    scfg = SelectConfig.model_validate(cfg)
    table = read_annotated(annotated, sidecars)
    spans = unit_stats.spans_of(members, table.column("file")) if members else None
    alive, reasons, why = decide(table, scfg, cutoffs, seed, load_dup_reasons(drops if scfg.drop_duplicates else None, key, contaminated),
                                 where=annotated)
    if routes:  # after every rule: a routed source's kept documents take the first matching route's role
        roles, routed, _ = route(table, alive, routes, annotated)
        unrouted = alive & ~routed
        if unrouted.any():
            reasons["unrouted"] += int(unrouted.sum())
            why = with_reason(why, np.flatnonzero(unrouted), "unrouted")
        table = table.set_column(table.column_names.index("role"), "role", roles)
        alive = routed
    kept = table.filter(pa.array(alive))
    # `_kept` (which documents were kept, with which role, and how their text was rewritten: the reading,
    # the kept rows, the routes, the PII settings) keys the tokenize fingerprint
    kept_fp = digest("kept", reader, np.packbits(alive).tobytes().hex(), cfg.get("pii"), routes)
    pii: dict[str, int] = {}
    per_member = None
    if scfg.pii is not None:  # after every rule: the text written to selected/ (and so to tokenize) is redacted
        if spans is None:
            kept, keep, pii = apply_pii(kept, scfg.pii)
        else:  # a pack unit: PII items are counted per member file
            kept, keep, per_member = unit_stats.pii_by_member(kept, alive, spans, partial(apply_pii, cfg=scfg.pii))
        if not keep.all():
            gone = np.flatnonzero(alive)[~keep]
            reasons["pii"] += int(gone.size)
            kept = kept.filter(pa.array(keep))
            why = with_reason(why, gone, "pii")
            alive = alive.copy()
            alive[gone] = False
    if decisions:
        with atomic_path(decisions) as tmp:
            pq.write_table(decisions_table(table, scfg, why), tmp, compression="zstd")
    with atomic_path(out) as tmp:
        pq.write_table(kept, tmp, compression="zstd")
    if spans is not None:
        rows = unit_stats.select_rows(source, spans, why, kept, alive, per_member)
        return {"members": rows, "docs_in": table.num_rows, "_kept": kept_fp}
    text_bytes = int(pc.sum(pc.binary_length(kept.column("text"))).as_py() or 0)
    extra = {"pii": pii} if scfg.pii is not None else {}  # items found per type (redacted, or in dropped documents)
    roles_kept = {r["values"]: int(r["counts"]) for r in pc.value_counts(kept.column("role")).to_pylist()} if kept.num_rows else {}
    return stats.row(source, key, docs_in=table.num_rows, docs_out=kept.num_rows, bytes=text_bytes, drops=reasons,
                     roles=dict(sorted(roles_kept.items())), **extra, _kept=kept_fp)


def compute_cutoffs(ctx: RunContext, drops: str | None) -> dict:
    """Score cutoffs for top_fraction rules, over documents still alive when the rule applies."""
    scfg = ctx.cfg.select
    out: dict[str, dict[str, float]] = {}
    for k, rule in enumerate(scfg.rules):
        if rule.mode != "top_fraction":
            continue
        needed = {"id", "source", "role"} | rule_columns(rule)
        for r in scfg.rules[:k]:
            needed |= rule_columns(r)
        values: dict[str, list[np.ndarray]] = {}
        for f, path in ctx.annotated_files():
            t = read_annotated(str(path), sidecars_for(ctx, f.source.name, f.key), columns=list(needed))
            alive, _ = apply_rules(t, scfg, out, ctx.seed, load_dup_reasons(drops if scfg.drop_duplicates else None, f.key, _contaminated(ctx, f.key)),
                                   str(path), upto=k)
            alive &= scope_mask(t, rule)
            if rule.column not in t.column_names:
                raise ConfigError(f"rule `{rule.name}` needs column `{rule.column}`", where=str(path))
            v = pc.fill_null(pc.cast(t.column(rule.column), pa.float64()), -np.inf).to_numpy()[alive]
            values.setdefault(f.source.name if rule.per_source else "*", []).append(v)
        cut = {}
        for key, chunks in values.items():
            v = np.sort(np.concatenate(chunks))[::-1] if chunks else np.array([])
            n_keep = int(np.ceil(rule.fraction * len(v)))
            cut[key] = float(v[n_keep - 1]) if n_keep > 0 else float("inf")
        out[rule.name] = cut
    return out


def _contaminated(ctx: RunContext, key: str) -> str | None:
    """The decontam hits file of one annotated file, when its rows are to be dropped."""
    d = getattr(ctx.cfg, "decontam", None)
    if d is None or d.action != "drop":
        return None
    p = ctx.layout.decontam_hits(key)
    return str(p) if p.exists() else None


class SelectStage(Stage):
    """Rules over the stored columns; writes each annotated file's kept rows to selected/."""

    def run(self) -> dict:
        ctx = self.ctx
        drops_path = ctx.layout.drops
        # the drops of a dedup stage this config still has (a run made with dedup, then without, must not apply them)
        dedup_on = "dedup" in ctx.cfg.stage_list()
        drops = str(drops_path) if dedup_on and drops_path.exists() else None
        cutoffs = compute_cutoffs(ctx, drops)
        tasks = []
        annotated = ctx.annotated_files()
        scfg = ctx.cfg.select.model_dump(mode="json")
        drops_fp = content_hash(drops_path) if drops and ctx.cfg.select.drop_duplicates else None
        for f, path in annotated:
            if not ctx.selected_path(f).exists():  # a marker without its output is not done
                marker_path(ctx.run_dir, STAGE, f.key).unlink(missing_ok=True)
            marker = read_marker(ctx.run_dir, "annotate", f.key) or {}
            hits = _contaminated(ctx, f.key)  # the decontam stage's rows of this file, when it ran
            sides = sidecars_for(ctx, f.source.name, f.key)  # the adapt stage's learned columns, joined by row
            routes = [r.model_dump() for r in f.source.routes] if f.source.routes else None
            fp = digest("select", scfg, ctx.seed, marker_fingerprint(ctx.run_dir, "annotate", f.key), drops_fp, cutoffs,
                        content_hash(Path(hits)) if hits else None, routes,
                        [content_hash(Path(x)) if Path(x).exists() else None for x in sides])
            tasks.append(Task(id=f.key, fn=select_file, weight=path.stat().st_size, fingerprint=fp,
                              kwargs=dict(annotated=str(path), out=str(ctx.selected_path(f)), decisions=str(ctx.layout.decisions(f.key)),
                                          source=f.source.name, key=f.key,
                                          cfg=scfg, cutoffs=cutoffs, seed=ctx.seed, drops=drops,
                                          contaminated=_contaminated(ctx, f.key), sidecars=sides, routes=routes,
                                          reader=marker.get("_reader", ""), members=unit_stats.member_files(ctx, f))))
        # small files' tasks run in packs (one worker call each); markers and outputs stay per file
        results = ctx.executor.map(STAGE, tasks, desc="select", pack=partial(pack_tasks, workers=ctx.executor.workers, max_weight=PACK_BYTES))
        # per input file (parts of a split file added up), as annotate reports them, so that
        # `lines = kept + dropped + quarantined` can be checked file by file; bookkeeping (`_kept`) stays in the markers
        rows = []
        for (f, _), r in zip(annotated, results):
            if "members" in r:  # a pack unit: one row per member file already
                rows += r["members"]
            else:
                rows.append({**{k: v for k, v in r.items() if not k.startswith("_")}, "file": ctx.display(f.path)})
        return stats.stage_stats(rows, sources=[s.name for s in ctx.cfg.sources], cutoffs=cutoffs)
