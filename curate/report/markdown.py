"""report.md + PNG charts: the funnel (docs per source and per role at each step, drops per reason),
signal histograms by role, dedup clusters, tokens and the mixture. Written from stats.json, the
mixture and the stored columns, never by re-running anything.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from curate.io.atomic import atomic_path, write_text  # noqa: E402
from curate.layout import RunLayout  # noqa: E402
from curate.report.charts_svg import KEPT_COLOR, PALETTE  # noqa: E402
from curate.report.privacy import decontam_figures, decontam_markdown, pii_figures, pii_markdown  # noqa: E402
from curate.stats import CORE  # noqa: E402
from curate.report.facts import (FunnelRow, funnel_by_role, funnel_by_source, mixture_rows, quarantine_reasons,  # noqa: E402
                                 reason_order, shards_summary, signal_columns, signal_values, tokens_by_source)
PNG_META = {"Software": None}  # no version/date stamp in the files


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata=PNG_META, bbox_inches="tight")
    plt.close(fig)


def funnel_chart(rows: dict[str, FunnelRow], reasons: list[str], path: Path) -> None:
    _save(funnel_figure(rows, reasons), path)


def funnel_figure(rows: dict[str, FunnelRow], reasons: list[str]):
    """Stacked bars per source (and role): kept, then each drop reason; the legend sits beside the plot."""
    names = list(rows)
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.45 * max(1, len(names))))
    y = np.arange(len(names))
    left = np.zeros(len(names))
    for k, (label, vals) in enumerate([("kept", [rows[n].kept for n in names]), ("quarantined", [rows[n].quarantined for n in names])]
                                      + [(r, [rows[n].drops.get(r, 0) for n in names]) for r in reasons]):
        vals = np.asarray(vals, dtype=float)
        ax.barh(y, vals, left=left, height=0.7, label=label, color=KEPT_COLOR if label == "kept" else PALETTE[(k - 1) % len(PALETTE)])
        left += vals
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("documents read")
    ax.set_title("Funnel: what became of the documents read, per source and per role")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)  # outside the axes: never on a bar
    return fig


def histograms(annotated: list[Path], path: Path) -> list[str]:
    cols = signal_columns(annotated)
    if not cols:
        return []
    _save(signals_figure(cols, signal_values(annotated, cols, "role")), path)
    return cols


def signals_figure(cols: list[str], data: dict[str, dict[str, np.ndarray]]):
    """One histogram per column, one outline per role; the legend in a band under the grid."""
    n = len(cols)
    ncol = 3
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 2.8 * nrow), squeeze=False)
    for ax, c in zip(axes.flat, cols):
        groups = data[c]
        allv = np.concatenate(list(groups.values()))
        allv = allv[np.isfinite(allv)]
        log = c == "word_count"
        if log:
            allv = np.log10(np.maximum(allv, 1))
            ax.set_xlabel("log10(word_count)")
        edges = np.histogram_bin_edges(allv, bins=40) if allv.size else np.linspace(0, 1, 41)
        for g, v in groups.items():
            v = v[np.isfinite(v)]
            ax.hist(np.log10(np.maximum(v, 1)) if log else v, bins=edges, histtype="step", linewidth=1.4, label=g)
        ax.set_title(c, fontsize=9)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.suptitle("Signal distributions over all annotated documents, by role", y=1 - 0.15 / fig.get_figheight(), va="top")
    # fixed spacing (tight_layout costs seconds here); the legend gets a band of its own under the grid
    fig.subplots_adjust(left=0.06, right=0.98, top=1 - 0.75 / fig.get_figheight(), bottom=0.75 / fig.get_figheight(), hspace=0.55, wspace=0.25)
    fig.legend(handles, labels, loc="lower center", ncol=max(1, len(labels)), fontsize=9, frameon=False)
    return fig


def mixture_chart(rows, path: Path) -> None:
    _save(mixture_figure(rows), path)


def mixture_figure(rows):
    """Target vs achieved share for every role and every source (sources without a target: achieved only)."""
    labels = [f"{r.name} ({r.kind})" for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rows) + 2), 3.6))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r.target or 0 for r in rows], 0.4, label="target", color="#9bb7d4")
    ax.bar(x + 0.2, [r.achieved for r in rows], 0.4, label="achieved", color="#3b6ea8")
    for i, r in enumerate(rows):
        if r.target is None:
            ax.text(x[i] - 0.2, 0.005, "no target", rotation=90, fontsize=7, ha="center", va="bottom", color="#777")
    ax.set_xticks(x, labels, rotation=20, ha="right")
    ax.set_ylabel("share of tokens")
    ax.set_ylim(0, max([r.achieved for r in rows] + [r.target or 0 for r in rows] + [0.1]) * 1.1)
    ax.set_title("Mixture: target vs achieved token shares, per role and per source")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


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
        funnel_chart(chart_rows, reasons, layout.chart("funnel"))
        lines += ["## Funnel", "", "![funnel](funnel.png)", ""] + funnel_table(rows, "source") + [""] + funnel_table(roles, "role") + [""]
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
    cols = histograms(annotated, layout.chart("signals"))
    if cols:
        lines += ["## Signal distributions", "", "![signals](signals.png)", ""]
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
        mixture_chart(mrows, layout.chart("mixture"))
        sh = shards_summary(manifest)
        repeated = sum(r.repeated_tokens for r in mrows if r.kind == "source")
        total = sum(r.tokens for r in mrows if r.kind == "source")
        lines += ["## Mixture", "", "![mixture](mixture.png)", "",
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
