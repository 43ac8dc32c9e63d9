"""report.md + SVG charts beside it: the funnel (docs per source and per role at each step, drops per
reason), signal histograms by role and the mixture (`funnel.svg`, `signals.svg`, `mixture.svg`, drawn
by `curate.report.figures`, the same charts as report.html's). Written from stats.json, the mixture and
the stored columns, never by re-running anything.
"""

from __future__ import annotations

from pathlib import Path

from curate.io.atomic import write_text
from curate.layout import RunLayout
from curate.report import charts_svg as svg
from curate.report.facts import (FunnelRow, funnel_by_role, funnel_by_source, mixture_rows, reason_order, shards_summary,
                                 signal_columns, signal_sample_note, signal_values, tokens_by_source)
from curate.report.figures import funnel_svg, grid, mixture_svg, signal_histograms
from curate.report.privacy import decontam_figures, decontam_markdown, pii_figures, pii_markdown
from curate.stats import CORE

LEGACY_CHARTS = ("funnel.png", "signals.png", "mixture.png")  # what older versions drew with matplotlib


def histograms(annotated: list, path: Path, seed: int = 0) -> list[str]:
    """signals.svg: one histogram per signal column, one outline per role; returns the columns drawn."""
    cols = signal_columns(annotated)
    if not cols:
        return []
    data = signal_values(annotated, cols, "role", seed)
    colors = svg.color_for(sorted({g for d in data.values() for g in d}))
    over = signal_sample_note(annotated) or "all annotated documents"
    write_text(path, grid(signal_histograms(data, colors), f"Signal distributions over {over}, by role"))
    return cols


def funnel_table(rows: dict[str, FunnelRow], title: str) -> list[str]:
    out = [f"| {title} | read | quarantined | after dedup | selected | kept % of read |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        out.append(f"| {name} | {r.read:,} | {r.quarantined:,} | {r.deduplicated:,} | {r.kept:,} | {r.kept_pct:.1f} |")
    return out


def _num(v) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else (f"{v:.4g}" if isinstance(v, float) else str(v))


def write_markdown(run: Path, name: str, seed: int, stats: dict, config: dict, mixture: dict, manifest: dict,
                   annotated: list[Path]) -> Path:
    layout = RunLayout(run)
    lines = [f"# curate run report: {name}", "", f"Run directory: `{run}`  ", f"Seed: {seed}  ",
             "The same run as a page with example documents per rule: `report.html` (open it in a browser).", ""]
    rows = funnel_by_source(stats)
    roles = funnel_by_role(stats, config)
    rule_names = [r["name"] for r in (config.get("select") or {}).get("rules", [])]
    if rows:
        reasons = reason_order(rows, rule_names)
        chart_rows = {**rows, **{f"role: {k}": v for k, v in roles.items()}}
        write_text(layout.chart("funnel"), funnel_svg(chart_rows, reasons, "Funnel: what became of the documents read, per source and per role"))
        lines += ["## Funnel", "", "![funnel](funnel.svg)", ""] + funnel_table(rows, "source") + [""] + funnel_table(roles, "role") + [""]
    ann = stats.get("annotate", {})
    drops = [(stage, src, k, v) for stage, st in stats.items() for src, s in (st.get("sources") or {}).items()
             for k, v in sorted((s.get("drops") or {}).items(), key=lambda kv: (-kv[1], kv[0]))]
    if stats:
        lines += ["## Drops by reason", ""]
        if drops:
            lines += ["Annotate's reasons are bad records (written to `quarantine/` with file, line and reason); dedup's are "
                      "duplicates; select's are the first rule a document failed.", "", "| stage | source | reason | docs |", "|---|---|---|---:|"]
            lines += [f"| {stage} | {src} | {k} | {v:,} |" for stage, src, k, v in drops]
        else:
            lines.append("No document was dropped.")
        lines.append("")
    sel = stats.get("select", {})
    if sel:
        t = sel.get("total", {})
        read = sum(r.read for r in rows.values()) or t.get("docs_in", 0)
        q = sum(r.quarantined for r in rows.values())
        pct = 100.0 * t.get("docs_out", 0) / read if read else 0.0
        b_in = t.get("bytes_in", ann.get("total", {}).get("bytes", 0))
        b_out = t.get("bytes_out", t.get("bytes", 0))
        lines.append(f"Kept {t.get('docs_out', 0):,} of {read:,} documents read ({pct:.1f}%; {q:,} quarantined, "
                     f"{t.get('docs_in', 0) - t.get('docs_out', 0):,} dropped by dedup and rules); "
                     f"{b_out / 1e6:.2f} of {b_in / 1e6:.2f} MB of parsed text.")
        lines.append("")
    lines += pii_markdown(pii_figures(stats.get("select", {}), config))
    lines += decontam_markdown(decontam_figures(layout.decontam_report))
    lines += routed_markdown(stats, layout)
    cols = histograms(annotated, layout.chart("signals"), seed)
    if cols:
        lines += ["## Signal distributions", "", "![signals](signals.svg)", ""]
    for stage, st in stats.items():  # whatever else a stage reports in its totals (any stage, no special case)
        extra = {k: v for k, v in (st.get("total") or {}).items() if k not in CORE and k != "files" and not isinstance(v, (dict, list))}
        if extra:
            lines += [f"## {stage}: details", ""] + [f"- {k}: {_num(v)}" for k, v in extra.items()] + [""]
    hist = (stats.get("dedup") or {}).get("cluster_sizes")
    if hist:
        lines += ["Duplicate clusters by size:", "", "| cluster size | clusters |", "|---:|---:|"]
        lines += [f"| {k} | {v:,} |" for k, v in sorted(hist.items(), key=lambda kv: int(kv[0]))] + [""]
    tok = tokens_by_source(stats)
    if tok:
        lines += ["## Tokens per source", "", "Held-out documents are counted apart from train.", "",
                  "| source | documents (train) | tokens (train) | documents (held-out) | tokens (held-out) |", "|---|---:|---:|---:|---:|"]
        for r in tok:
            lines.append(f"| {r.source} | {r.train_docs:,} | {r.train_tokens:,} | {r.heldout_docs:,} | {r.heldout_tokens:,} |")
        lines.append("")
    mrows = mixture_rows(mixture)
    if mrows:
        write_text(layout.chart("mixture"), mixture_svg(mrows))
        sh = shards_summary(manifest)
        repeated = sum(r.repeated_tokens for r in mrows if r.kind == "source")
        total = sum(r.tokens for r in mrows if r.kind == "source")
        lines += ["## Mixture", "", "![mixture](mixture.svg)", "",
                  "| role / source | target | achieved | tokens | unique tokens | repeated tokens | epochs |", "|---|---:|---:|---:|---:|---:|---:|"]
        for r in mrows:
            tgt = f"{r.target:.4f}" if r.target is not None else "–"
            ep = f"{r.epochs:.2f}" if r.epochs is not None else ""
            name = f"{r.name} (role)" if r.kind == "role" else f"{r.name} ({r.role})"
            lines.append(f"| {name} | {tgt} | {r.achieved:.4f} | {r.tokens:,} | {r.unique_tokens:,} | {r.repeated_tokens:,} | {ep} |")
        lines += ["", f"Mixed {total:,} tokens, of which {repeated:,} ({100.0 * repeated / total if total else 0:.1f}%) repeat a document "
                  "already in the mixture (upsampling up to `mix.max_epochs`).", "",
                  f"Shards: `{layout.shards_dir}/` — {sh['train_files']} train files ({sh['train_tokens']:,} tokens), "
                  f"{sh['val_files']} held-out files ({sh['val_tokens']:,} tokens); each listed with its sha256 in `manifest.json`."]
        warnings = mixture.get("warnings") or []
        if warnings:
            lines += ["", "**Mixture warnings:**", ""] + [f"- {w}" for w in warnings]
        lines.append("")
    for name in LEGACY_CHARTS:  # a run first reported by an older curate: its PNGs would be stale now
        (run / name).unlink(missing_ok=True)
    write_text(layout.report, "\n".join(lines) + "\n")
    return layout.report


def routed_markdown(stats: dict, layout: RunLayout) -> list[str]:
    """Documents (and tokens) per role of each source, and each adapt task's rounds."""
    lines: list[str] = []
    routed = [(stage, src, s["roles"], s.get("role_tokens", {})) for stage, st in stats.items()
              for src, s in st.get("sources", {}).items() if isinstance(s.get("roles"), dict) and s.get("roles")]
    if routed:
        lines += ["## Documents per role", "", "Roles come from the source's `role`, or per document from its `routes` (select).", "",
                  "| stage | source | role | documents | tokens |", "|---|---|---|---:|---:|"]
        lines += [f"| {stage} | {src} | {role} | {n:,} | {toks.get(role, 0):,} |" for stage, src, roles, toks in routed for role, n in roles.items()]
        lines.append("")
    for task, rep in (stats.get("adapt", {}).get("tasks") or {}).items():
        lines += [f"## adapt: {task}", "", f"Learned on {rep.get('learned_on', 0):,} of {rep.get('documents', 0):,} documents; priors "
                  f"{', '.join(rep.get('priors_used', []))}. Card: `{layout.rel(layout.adapt_task_dir(task))}/card.md`.", "",
                  "| round | pool positives | pool negatives | share >= 0.5 |", "|---:|---:|---:|---:|"]
        lines += [f"| {r['round']} | {r['pool_positives']:,} | {r['pool_negatives']:,} | {r['share_at_0.5']:.4f} |" for r in rep.get("rounds", [])]
        lines.append("")
    return lines
