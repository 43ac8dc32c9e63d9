"""report.md + PNG charts: the funnel (docs per stage and source), drop reasons, score histograms,
dedup clusters and the mixture. Written from stats.json and the stored columns, never by re-running.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from curate.context import RunContext  # noqa: E402
from curate.io.atomic import atomic_path, read_json, write_text  # noqa: E402
from curate.stages.base import ordered  # noqa: E402
from curate.stats import CORE  # noqa: E402

HIST_COLUMNS = ("word_count", "mean_word_length", "alpha_word_fraction", "lang_score", "duplicate_line_fraction",
                "punct_end_line_fraction")
PNG_META = {"Software": None}  # no version/date stamp in the files


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata=PNG_META, bbox_inches="tight")
    plt.close(fig)


def funnel(stats: dict) -> dict[str, dict[str, int]]:
    """Documents per source: read by the first stage, then left after each stage (its docs_out),
    up to the first stage that passes on more documents than it got (mixing repeats documents)."""
    rows: dict[str, dict[str, int]] = {}
    for k, (stage, st) in enumerate(stats.items()):
        sources = st.get("sources", {})
        if any(s.get("docs_out", 0) > s.get("docs_in", 0) for s in sources.values()):
            break
        for src, s in sources.items():
            r = rows.setdefault(src, {})
            if k == 0:
                r["read"] = s.get("docs_in", 0)
            r[stage] = s.get("docs_out", 0)
    return rows


def funnel_chart(rows: dict, path: Path) -> None:
    steps = list(dict.fromkeys(k for r in rows.values() for k in r))
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.5 * max(1, len(rows))))
    y = np.arange(len(rows))
    h = 0.8 / len(steps)
    for k, step in enumerate(steps):
        vals = [rows[s].get(step, 0) for s in rows]
        ax.barh(y + k * h, vals, height=h, label=step)
    ax.set_yticks(y + 0.4 - h / 2, list(rows))
    ax.invert_yaxis()
    ax.set_xlabel("documents")
    ax.set_title("Funnel: documents per source after each stage")
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, path)


def histograms(ctx: RunContext, path: Path) -> list[str]:
    files = [p for _, p in ctx.annotated_files()]
    if not files:
        return []
    names = pq.ParquetFile(files[0]).schema_arrow.names
    cols = [c for c in names if c in HIST_COLUMNS or c.endswith("_score") or (c.startswith("kw_") and c.endswith("_per_1k"))]
    if not cols:
        return []
    data: dict[str, list] = {c: [] for c in cols}
    for p in files:
        t = pq.read_table(p, columns=cols)
        for c in cols:
            data[c].append(pc.cast(t.column(c), "float64").to_numpy(zero_copy_only=False))
    n = len(cols)
    ncol = 3
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 2.6 * nrow), squeeze=False)
    for ax, c in zip(axes.flat, cols):
        v = np.concatenate(data[c])
        v = v[np.isfinite(v)]
        if c == "word_count" and len(v):
            v = np.log10(np.maximum(v, 1))
            ax.set_xlabel("log10(word_count)")
        ax.hist(v, bins=40, color="#3b6ea8")
        ax.set_title(c, fontsize=9)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Signal distributions over all annotated documents")
    fig.tight_layout()
    _save(fig, path)
    return cols


def mixture_chart(mixture: dict, path: Path) -> None:
    keys = list(mixture.get("target", {}))
    fig, ax = plt.subplots(figsize=(6, 3))
    x = np.arange(len(keys))
    ax.bar(x - 0.2, [mixture["target"][k] for k in keys], 0.4, label="target")
    ax.bar(x + 0.2, [mixture.get("achieved", {}).get(k, 0) for k in keys], 0.4, label="achieved")
    ax.set_xticks(x, keys)
    ax.set_ylabel("share of tokens")
    ax.set_title("Mixture: target vs achieved token shares")
    ax.legend()
    _save(fig, path)


def pii_section(sel: dict, action: str | None) -> list[str]:
    """PII found at select per source and type (redacted in selected/, or the documents dropped)."""
    per = {src: s.get("pii", {}) for src, s in sel.get("sources", {}).items() if s.get("pii")}
    if action is None or not sel:
        return []
    kinds = sorted({k for v in per.values() for k in v})
    out = ["## PII", "", f"Action: **{action}** ({'replaced by typed placeholders in selected/' if action == 'redact' else 'documents dropped, reason `pii`'}).", ""]
    if not kinds:
        return out + ["No PII found in the selected documents.", ""]
    out += ["| source | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
    out += [f"| {src} | " + " | ".join(f"{v.get(k, 0):,}" for k in kinds) + " |" for src, v in per.items()]
    return out + [""]


def decontam_section(path: Path) -> list[str]:
    """Which evaluation items were found in the corpus, and by which documents (from decontam.json)."""
    if not path.exists():
        return []
    d = read_json(path)
    out = ["## Decontamination", "", f"{d['n']}-gram overlap with the evaluation sets; action: **{d['action']}**; "
           f"{d['total']['contaminated']:,} of {d['total']['docs_in']:,} documents overlap. Full list: `decontam.json`.", "",
           "| evaluation set | items | too short to match | items found in the corpus |", "|---|---:|---:|---:|"]
    out += [f"| {name} | {s['items']:,} | {s['too_short']:,} | {s['items_hit']:,} |" for name, s in d["eval_sets"].items()]
    if d["items_hit"]:
        out += ["", "| set | item | excerpt | documents | first documents (source, file:line) |", "|---|---|---|---:|---|"]
        for it in d["items_hit"][:50]:
            ex = it["excerpt"][:60].replace("|", "\\|").replace("\n", " ")
            docs = "; ".join(f"{x['source']} {x['file']}:{x['line']}" for x in it["docs"][:3])
            out.append(f"| {it['set']} | {it['id']} | {ex} | {it['documents']:,} | {docs} |")
        if len(d["items_hit"]) > 50:
            out.append(f"| … | {len(d['items_hit']) - 50:,} more in decontam.json | | | |")
    return out + [""]


def _num(v) -> str:
    return f"{v:,}" if isinstance(v, int) else (f"{v:.4g}" if isinstance(v, float) else str(v))


def write_report(ctx: RunContext, stats: dict) -> Path:
    """report.md from the stages' stats (one shape for every stage, see curate.stats) and the stored columns."""
    layout = ctx.layout
    order = [e.name for e in ordered()]  # run order (stats.json stores stages sorted by name)
    stats = {k: stats[k] for k in sorted(stats, key=lambda k: order.index(k) if k in order else len(order))}
    lines = [f"# curate run report: {ctx.cfg.name}", "", f"Run directory: `{ctx.run_dir}`  ", f"Seed: {ctx.seed}", ""]
    rows = funnel(stats)
    if rows:
        steps = list(dict.fromkeys(k for r in rows.values() for k in r))
        funnel_chart(rows, layout.chart("funnel"))
        lines += ["## Funnel", "", "![funnel](funnel.png)", "", "| source | " + " | ".join(steps) + " | kept % |",
                  "|---|" + "---:|" * (len(steps) + 1)]
        for src, r in rows.items():
            kept = 100.0 * r.get(steps[-1], 0) / r["read"] if r.get("read") else 0.0
            lines.append(f"| {src} | " + " | ".join(f"{r.get(k, 0):,}" for k in steps) + f" | {kept:.1f} |")
        lines.append("")
    drops = [(stage, src, k, v) for stage, st in stats.items() for src, s in st.get("sources", {}).items()
             for k, v in sorted(s.get("drops", {}).items(), key=lambda kv: -kv[1])]
    if stats:
        lines += ["## Drops by reason", ""]
        if drops:
            lines += ["Annotate's reasons are bad records (written to `quarantine/` with file, line and reason); select's are the "
                      "first rule a document failed.", "", "| stage | source | reason | docs |", "|---|---|---|---:|"]
            lines += [f"| {stage} | {src} | {k} | {v:,} |" for stage, src, k, v in drops]
        else:
            lines.append("No document was dropped.")
        lines.append("")
    tokens = {stage: st for stage, st in stats.items() if st.get("total", {}).get("tokens")}
    if tokens:
        lines += ["## Tokens per source", "", "| stage | source | documents | MB | tokens |", "|---|---|---:|---:|---:|"]
        for stage, st in tokens.items():
            for src, s in st.get("sources", {}).items():
                lines.append(f"| {stage} | {src} | {s.get('docs_out', 0):,} | {s.get('bytes', 0) / 1e6:.2f} | {s.get('tokens', 0):,} |")
        lines.append("")
    routed = [(stage, src, s["roles"], s.get("role_tokens", {})) for stage, st in stats.items()
              for src, s in st.get("sources", {}).items() if s.get("roles")]
    if routed:
        lines += ["## Documents per role", "", "Roles come from the source's `role`, or per document from its `routes` (select).", "",
                  "| stage | source | role | documents | tokens |", "|---|---|---|---:|---:|"]
        lines += [f"| {stage} | {src} | {role} | {n:,} | {toks.get(role, 0):,} |" for stage, src, roles, toks in routed for role, n in roles.items()]
        lines.append("")
    adapt = stats.get("adapt", {}).get("tasks", {})
    for task, rep in adapt.items():
        lines += [f"## adapt: {task}", "", f"Learned on {rep.get('learned_on', 0):,} of {rep.get('documents', 0):,} documents; priors "
                  f"{', '.join(rep.get('priors_used', []))}. Card: `{layout.rel(layout.adapt_task_dir(task))}/card.md`.", "",
                  "| round | pool positives | pool negatives | share >= 0.5 |", "|---:|---:|---:|---:|"]
        lines += [f"| {r['round']} | {r['pool_positives']:,} | {r['pool_negatives']:,} | {r['share_at_0.5']:.4f} |" for r in rep.get("rounds", [])]
        lines.append("")
    pii_cfg = getattr(ctx.cfg.select, "pii", None)
    lines += pii_section(stats.get("select", {}), pii_cfg.action if pii_cfg else None)
    lines += decontam_section(layout.decontam_report)
    cols = histograms(ctx, layout.chart("signals"))
    if cols:
        lines += ["## Signal distributions", "", "![signals](signals.png)", ""]
    for stage, st in stats.items():
        extra = {k: v for k, v in st.get("total", {}).items() if k not in CORE and k != "files" and not isinstance(v, (dict, list))}
        if extra:
            lines += [f"## {stage}: details", ""] + [f"- {k}: {_num(v)}" for k, v in extra.items()] + [""]
    if layout.mixture.exists():
        m = read_json(layout.mixture).get("mixture", {})
        if m.get("target"):
            mixture_chart(m, layout.chart("mixture"))
            lines += ["## Mixture", "", "![mixture](mixture.png)", "", "| key | target | achieved | tokens |", "|---|---:|---:|---:|"]
            for k in m["target"]:
                lines.append(f"| {k} | {m['target'][k]:.4f} | {m.get('achieved', {}).get(k, 0):.4f} | {m.get('tokens', {}).get(k, 0):,} |")
            if m.get("epochs"):
                lines += ["", "Epochs per source: " + ", ".join(f"{k} {v:.2f}" for k, v in m["epochs"].items())]
            lines.append("")
    write_text(layout.report, "\n".join(lines) + "\n")
    return layout.report
