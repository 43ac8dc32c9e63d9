"""report.html: one self-contained page (inline CSS and SVG, no script, nothing from the network).

Sections: summary, funnel per source and per role, every select rule with its histograms and example
documents (dropped, and kept near its threshold), deduplication and quarantine examples, signal
distributions by role, classifier scores by source, tokens, mixture (target vs achieved per role and
per source, epochs, repeated tokens, where the shards are), stage statistics (any stage, generically)
and, last, wall times.

Every piece of document text, id, file name and config value is HTML-escaped. The page is a pure
function of the run's deterministic files, except the last block (run directory and wall times),
which sits between `<!-- volatile:begin -->` and `<!-- volatile:end -->` and is the only part that
may differ between two identical runs.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np

from curate.io.atomic import write_text
from curate.layout import RunLayout
from curate.report import charts_svg as svg
from curate.report.facts import (FunnelRow, annotated_files, funnel_by_role, funnel_by_source, mixture_rows, quarantine_reasons,
                                 reason_order, shards_summary, signal_columns, signal_sample_note, signal_values, tokens_by_source)
from curate.report.figures import epochs_svg, funnel_svg, mixture_svg, signal_histograms
from curate.report.privacy import decontam_figures, pii_figures
from curate.report.samples import Example, RuleSample, all_samples, column_values, load_view, reached_rows, sources_at, thresholds
from curate.stages.select import rule_columns

VOLATILE_BEGIN, VOLATILE_END = "<!-- volatile:begin -->", "<!-- volatile:end -->"

CSS = """
:root { --fg:#1d232b; --muted:#5b6573; --line:#d9dee5; --bg:#f6f7f9; --kept:#2f7d4f; --drop:#b23b3b; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:#fff; }
header { background:#1f3b5a; color:#fff; padding:14px 24px; }
header h1 { margin:0; font-size:20px; } header p { margin:4px 0 0; color:#cfe0f2; }
nav { position:sticky; top:0; z-index:2; background:var(--bg); border-bottom:1px solid var(--line); padding:6px 24px;
      display:flex; flex-wrap:wrap; gap:4px 14px; font-size:13px; }
nav a { color:#1f5b99; text-decoration:none; } nav a:hover { text-decoration:underline; }
main { max-width:1240px; margin:0 auto; padding:8px 24px 40px; }
section { margin:26px 0; } h2 { font-size:18px; border-bottom:2px solid var(--line); padding-bottom:4px; }
h3 { font-size:15px; margin:18px 0 6px; } code { background:var(--bg); padding:1px 4px; border-radius:3px; font-size:12.5px; }
table { border-collapse:collapse; margin:8px 0; font-size:13px; } th,td { border:1px solid var(--line); padding:3px 8px; text-align:left; }
th { background:var(--bg); vertical-align:bottom; } td.n { text-align:right; font-variant-numeric:tabular-nums; }
.tw { overflow-x:auto; max-width:100%; }
.tiles { display:flex; flex-wrap:wrap; gap:10px; } .tile { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:8px 14px; min-width:130px; }
.tile b { display:block; font-size:20px; } .tile span { color:var(--muted); font-size:12px; }
.charts { display:grid; grid-template-columns:repeat(auto-fill,minmax(420px,1fr)); gap:12px; align-items:start; }
.chart svg { max-width:100%; height:auto; }
.rule { border:1px solid var(--line); border-radius:8px; padding:4px 16px 12px; margin:16px 0; }
.rule > h3 { margin-top:12px; } .muted { color:var(--muted); }
.cols { display:grid; grid-template-columns:1fr 1fr; gap:14px; } @media (max-width:900px) { .cols { grid-template-columns:1fr; } }
.ex { border:1px solid var(--line); border-left:4px solid var(--drop); border-radius:4px; padding:6px 10px; margin:8px 0; background:#fff; }
.ex.kept { border-left-color:var(--kept); } .ex .meta { font-size:12px; color:var(--muted); overflow-wrap:anywhere; }
.ex .vals { font-size:12px; margin:3px 0; } .ex .vals code { margin-right:6px; display:inline-block; }
.ex blockquote { margin:4px 0; padding:4px 8px; background:var(--bg); white-space:pre-wrap; word-break:break-word; font-size:12.5px; max-height:12em; overflow:auto; }
.ex details pre { white-space:pre-wrap; word-break:break-word; background:#fbfbfc; border:1px solid var(--line); padding:6px; max-height:30em; overflow:auto; font-size:12px; }
.warn { background:#fff4e0; border:1px solid #f0c36d; padding:6px 10px; border-radius:4px; }
"""


def esc(v) -> str:
    return escape("" if v is None else str(v), quote=True)


def _num(v) -> str:
    if isinstance(v, bool) or v is None:
        return esc(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    return esc(v)


def _header(h) -> str:
    """A header that may wrap after `_` (long reason names) instead of widening the table."""
    return esc(h).replace("_", "_<wbr>")


def table(headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_header(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="n">{_num(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<div class="tw"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def example_html(e: Example, kept: bool, excerpt_chars: int, rule: str | None = None) -> str:
    vals = " ".join(f"<code>{esc(k)} = {esc(v)}</code>" for k, v in e.values.items())
    where = f"{e.file}:{e.line}" if e.line else e.file
    cut = e.chars > len(e.text)
    excerpt = e.text[:excerpt_chars] + ("…" if len(e.text) > excerpt_chars or cut else "")
    full = (f"<details><summary>full text ({e.chars:,} characters{', cut' if cut else ''})</summary><pre>{esc(e.text)}"
            f"{'…' if cut else ''}</pre></details>") if e.text else ""
    if e.fate == "kept":
        fate = "selected"
    elif kept:
        fate = f"passed {rule}, later dropped by {e.fate}" if rule else f"dropped by {e.fate}"
    else:
        fate = f"dropped by {e.fate}"
    note = f'<div class="meta">{esc(e.note)}</div>' if e.note else ""
    return (f'<div class="ex{" kept" if kept else ""}"><div class="meta"><b>{esc(e.id)}</b> · {esc(e.source)}'
            f'{" / " + esc(e.role) if e.role else ""} · {esc(where)} · <b>{esc(fate)}</b></div>{note}'
            f'<div class="vals">{vals}</div><blockquote>{esc(excerpt)}</blockquote>{full}</div>')


def sample_html(s: RuleSample, excerpt_chars: int) -> str:
    if s.kind == "dedup":  # each dropped copy beside the copy that was kept
        head = (f'<div class="cols"><h4>Dropped ({s.dropped_total:,}; showing {len(s.dropped)})</h4><h4>The copy that was kept</h4></div>')
        pairs = "".join(f'<div class="cols">{example_html(e, False, excerpt_chars)}'
                        f'{example_html(e.twin, True, excerpt_chars) if e.twin else "<div></div>"}</div>' for e in s.dropped)
        return head + (pairs or '<p class="muted">none</p>')
    dropped = "".join(example_html(e, False, excerpt_chars) for e in s.dropped) or '<p class="muted">none</p>'
    left = f"<div><h4>Dropped ({s.dropped_total:,}; showing {len(s.dropped)})</h4>{dropped}</div>"
    if s.kind != "rule":
        return f'<div class="cols">{left}<div></div></div>'
    kept = "".join(example_html(e, True, excerpt_chars, s.name) for e in s.kept) or '<p class="muted">none</p>'
    right = f"<div><h4>{esc(s.kept_label.capitalize())} ({s.kept_total:,} passed; showing {len(s.kept)})</h4>{kept}</div>"
    return f'<div class="cols">{left}{right}</div>'


def funnel_table(rows: dict[str, FunnelRow], reasons: list[str], first: str) -> str:
    headers = [first, "read", "quarantined"] + reasons + ["kept", "kept % of read"]
    body = [[n, r.read, r.quarantined] + [r.drops.get(x, 0) for x in reasons] + [r.kept, round(r.kept_pct, 1)] for n, r in rows.items()]
    return table(headers, body, numeric=set(range(1, len(headers))))


def rule_charts(view, k: int, cutoffs: dict, sources: list[str]) -> str:
    """Histograms of the columns rule k reads, over the documents that reached it, one series per source."""
    rule = view.select.rules[k]
    idx = reached_rows(view, k)
    if idx.size == 0:
        return ""
    lines = thresholds(rule, cutoffs)
    cols = sorted({c for c, _, _ in lines} | ({rule.column} if rule.column else set()))
    if not cols:
        cols = sorted(rule_columns(rule))
    colors = svg.color_for(sources)
    src = sources_at(view, idx)
    out = []
    for c in cols:
        v = column_values(view, c, idx)
        if not np.isfinite(v).any():
            continue  # a string column (e.g. lang): nothing to draw
        series = [(s, v[src == s], colors[s]) for s in sources if (src == s).any()]
        th = [(t, lab) for col, t, lab in lines if col == c]
        what = "a sample of the documents reaching this rule" if view.sampled else "documents reaching this rule"
        out.append(f'<div class="chart">{svg.histogram(series, f"{c} ({what})", c, th, log_x=(c == "word_count"))}</div>')
    return f'<div class="charts">{"".join(out)}</div>' if out else ""


def generic_stats(stats: dict) -> str:
    """Every stage's per-source numbers, whatever keys the stage reports (no stage is special-cased)."""
    parts = []
    for stage, st in stats.items():
        if not isinstance(st, dict):
            continue
        parts.append(f"<h3>{esc(stage)}</h3>")
        srcs = st.get("sources")
        if isinstance(srcs, dict) and srcs:
            keys = sorted({k for s in srcs.values() if isinstance(s, dict) for k, v in s.items() if isinstance(v, (int, float, dict)) and not isinstance(v, bool)})
            rows = []
            for name, s in srcs.items():
                row = [name]
                for k in keys:
                    v = s.get(k, "")
                    row.append("; ".join(f"{a}: {b:,}" if isinstance(b, int) else f"{a}: {b}" for a, b in sorted(v.items())) if isinstance(v, dict) else v)
                rows.append(row)
            parts.append(table(["source"] + keys, rows, numeric={i + 1 for i, k in enumerate(keys) if not any(isinstance(s.get(k), dict) for s in srcs.values())}))
        tot = st.get("total")
        if isinstance(tot, dict):
            flat = [[k, v if not isinstance(v, dict) else "; ".join(f"{a}: {b}" for a, b in sorted(v.items()))] for k, v in tot.items()]
            parts.append(f"<details><summary>totals ({len(flat)} figures)</summary>{table(['figure', 'value'], flat, numeric={1})}</details>")
    return "".join(parts)


def build_html(run: Path, stats: dict, config: dict, manifest: dict, timings: dict | None = None) -> str:
    rcfg = config.get("report") or {}
    n = int(rcfg.get("examples", 5))
    excerpt_chars = int(rcfg.get("excerpt_chars", 400))
    full_chars = int(rcfg.get("full_text_chars", 20_000))
    name = config.get("name", "run")
    sources = [s["name"] for s in config.get("sources", [])]
    rule_names = [r["name"] for r in (config.get("select") or {}).get("rules", [])]
    cutoffs = stats.get("select", {}).get("cutoffs", {})
    mixture = manifest.get("mixture", {})
    nav: list[tuple[str, str]] = []
    body: list[str] = []

    def section(anchor: str, title: str, html: str) -> None:
        nav.append((anchor, title))
        body.append(f'<section id="{anchor}"><h2>{esc(title)}</h2>{html}</section>')

    rows = funnel_by_source(stats)
    roles = funnel_by_role(stats, config)
    toks = tokens_by_source(stats)
    mrows = mixture_rows(mixture)
    # summary
    read = sum(r.read for r in rows.values())
    kept = sum(r.kept for r in rows.values())
    tiles = [("documents read", f"{read:,}"), ("quarantined", f"{sum(r.quarantined for r in rows.values()):,}"),
             ("duplicates dropped", f"{sum(v for r in rows.values() for k, v in r.drops.items() if k.endswith('_duplicate')):,}"),
             ("dropped by rules", f"{sum(v for r in rows.values() for k, v in r.drops.items() if not k.endswith('_duplicate')):,}"),
             ("kept", f"{kept:,} ({100.0 * kept / read if read else 0:.1f}% of read)")]
    if toks:
        tiles.append(("train tokens (unique)", f"{sum(t.train_tokens for t in toks):,}"))
    if mixture:
        tiles.append(("tokens in the mixture", f"{mixture.get('total_tokens', 0):,}"))
    srcs_table = table(["source", "role", "inputs"], [[s["name"], s.get("role", ""), ", ".join(s.get("paths", []))] for s in config.get("sources", [])])
    section("summary", "Summary", '<div class="tiles">' + "".join(f"<div class=tile><b>{esc(v)}</b><span>{esc(k)}</span></div>" for k, v in tiles)
            + f"</div><h3>Sources</h3>{srcs_table}")

    if rows:
        reasons = reason_order(rows, rule_names)
        section("funnel", "Funnel", funnel_svg({**rows, **{f"role: {k}": v for k, v in roles.items()}}, reasons,
                                               "What became of the documents read, per source and per role")
                + "<h3>Per source</h3>" + funnel_table(rows, reasons, "source") + "<h3>Per role</h3>" + funnel_table(roles, reasons, "role")
                + '<p class="muted">kept % uses documents read (quarantined records included) as its denominator everywhere in this report.</p>')

    view = load_view(run)
    samples = all_samples(view, n, cutoffs, limit=full_chars) if view.available or RunLayout(run).quarantine_dir.exists() else []
    by_name = {s.name: s for s in samples}
    if rule_names:
        parts = []
        if not view.available:
            parts.append('<p class="warn">No per-document decisions in this run directory (made by an older curate?): '
                         "rerun select to see example documents.</p>")
        for k, rname in enumerate(rule_names):
            s = by_name.get(rname)
            desc = s.description if s else ""
            counts = ", ".join(f"{src}: {r.drops.get(rname, 0):,}" for src, r in rows.items())
            parts.append(f'<div class="rule" id="rule-{esc(rname)}"><h3>Rule {k + 1}: <code>{esc(rname)}</code></h3>'
                         f'<p>{esc(desc)}<br><span class="muted">dropped per source — {esc(counts)}</span></p>')
            if view.available:
                parts.append(rule_charts(view, k, cutoffs, sources))
            if s:
                parts.append(sample_html(s, excerpt_chars))
            parts.append("</div>")
        section("rules", f"Select rules ({len(rule_names)}), with example documents", "".join(parts))

    dd = [s for s in samples if s.kind == "dedup"]
    dstats = stats.get("dedup")
    if dstats or dd:
        parts = []
        if dstats:
            tot = dstats.get("total", {})
            parts.append(table(["figure", "value"], [[k, v] for k, v in tot.items() if not isinstance(v, dict)], numeric={1}))
            hist = dstats.get("cluster_sizes") or {}
            if hist:
                parts.append(table(["cluster size", "clusters"], [[k, v] for k, v in sorted(hist.items(), key=lambda kv: int(kv[0]))], numeric={0, 1}))
        for s in dd:
            parts.append(f'<div class="rule" id="dedup-{esc(s.name)}"><h3><code>{esc(s.name)}</code></h3><p>{esc(s.description)}</p>{sample_html(s, excerpt_chars)}</div>')
        section("dedup", "Deduplication", "".join(parts))

    other = [s for s in samples if s.kind == "other"]
    if other:
        section("other", "Other drops", "".join(f'<div class="rule" id="other-{esc(s.name)}"><h3><code>{esc(s.name)}</code></h3>'
                                                f'<p>{esc(s.description)}</p>{sample_html(s, excerpt_chars)}</div>' for s in other))

    q = by_name.get("quarantine")
    qagg: dict[str, int] = {}
    for s in stats.get("annotate", {}).get("sources", {}).values():
        for k, v in quarantine_reasons(s).items():
            qagg[k] = qagg.get(k, 0) + v
    if q or qagg:
        section("quarantine", "Quarantine", table(["reason", "records"], sorted(qagg.items()), numeric={1})
                + (f'<div class="rule"><p>{esc(q.description)}</p>{sample_html(q, excerpt_chars)}</div>' if q else ""))

    pii = pii_figures(stats.get("select", {}), config)
    if pii is not None:
        section("pii", "PII", f"<p>{esc(pii.note)}</p>" + (table(["source"] + pii.kinds, [[src] + [v.get(k, 0) for k in pii.kinds] for src, v in pii.per_source.items()],
                                                              numeric=set(range(1, len(pii.kinds) + 1))) if pii.kinds else "<p>No PII found in the selected documents.</p>"))
    dc = decontam_figures(RunLayout(run).decontam_report)
    if dc is not None:
        section("decontam", "Decontamination", f"<p>{dc.n}-gram overlap with the evaluation sets; action: <b>{esc(dc.action)}</b>; "
                f"{dc.contaminated:,} of {dc.docs_in:,} documents overlap (full list: <code>decontam.json</code>).</p>"
                + table(["evaluation set", "items", "too short to match", "items found in the corpus"],
                        [[x["name"], x["items"], x["too_short"], x["items_hit"]] for x in dc.sets], numeric={1, 2, 3})
                + (table(["set", "item", "excerpt", "documents", "first documents (source, file:line)"],
                         [[h["set"], h["id"], h["excerpt"][:80], h["documents"], "; ".join(f"{x['source']} {x['file']}:{x['line']}" for x in h["docs"][:3])]
                          for h in dc.hits[:50]], numeric={3}) if dc.hits else ""))

    ann = annotated_files(run, config)
    cols = signal_columns(ann)
    scores = [c for c in cols if c.endswith("_score") and c != "lang_score"]
    plain = [c for c in cols if c not in scores]
    seed = int(config.get("seed", 0))
    over = signal_sample_note(ann) or "All annotated documents"
    if plain:
        data = signal_values(ann, plain, "role", seed)
        colors = svg.color_for(sorted({g for d in data.values() for g in d}))
        charts = "".join(f'<div class="chart">{h}</div>' for h in signal_histograms(data, colors))
        section("signals", "Signal distributions by role", f'<p class="muted">{esc(over[0].upper() + over[1:])} (before dedup and rules).</p><div class="charts">{charts}</div>')
    if scores:
        data = signal_values(ann, scores, "source", seed)
        colors = svg.color_for(sources)
        charts = "".join(f'<div class="chart">{h}</div>' for h in signal_histograms(data, colors))
        section("scores", "Classifier scores by source", f'<p class="muted">{esc(over[0].upper() + over[1:])} (before dedup and rules).</p><div class="charts">{charts}</div>')

    if toks:
        section("tokens", "Tokens per source", '<p class="muted">Held-out documents are counted apart from train.</p>' + table(
            ["source", "documents (train)", "tokens (train)", "documents (held-out)", "tokens (held-out)"],
            [[t.source, t.train_docs, t.train_tokens, t.heldout_docs, t.heldout_tokens] for t in toks], numeric={1, 2, 3, 4}))

    if mrows:
        sh = shards_summary(manifest)
        chart, epochs = mixture_svg(mrows), epochs_svg(mrows)
        srows = [r for r in mrows if r.kind == "source"]
        total = sum(r.tokens for r in srows)
        repeated = sum(r.repeated_tokens for r in srows)
        tab = table(["role / source", "kind", "target", "achieved", "tokens", "unique tokens", "repeated tokens", "epochs"],
                    [[r.name, r.kind if r.kind == "role" else f"source ({r.role})", "–" if r.target is None else round(r.target, 4), round(r.achieved, 4),
                      r.tokens, r.unique_tokens, r.repeated_tokens, "" if r.epochs is None else round(r.epochs, 3)] for r in mrows],
                    numeric={2, 3, 4, 5, 6, 7})
        warn = "".join(f'<p class="warn">{esc(w)}</p>' for w in mixture.get("warnings") or [])
        where = (f"<p>Shards are in <code>shards/</code> beside this report: {sh['train_files']} train files "
                 f"({sh['train_tokens']:,} tokens, {sh['train_documents']:,} documents) and {sh['val_files']} held-out files "
                 f"({sh['val_tokens']:,} tokens), listed with their sha256 in <code>manifest.json</code>.</p>")
        rep = (f"<p>Mixed {total:,} tokens, of which <b>{repeated:,} ({100.0 * repeated / total if total else 0:.1f}%) repeat</b> "
               f"a document already in the mixture (upsampling, at most <code>mix.max_epochs</code> = {esc(mixture.get('max_epochs', ''))}).</p>")
        section("mixture", "Mixture", warn + f'<div class="charts"><div class="chart">{chart}</div><div class="chart">{epochs}</div></div>'
                + tab + rep + where)

    section("stages", "Statistics per stage", generic_stats(stats))

    nav.append(("timings", "Timings"))
    volatile = volatile_block(run, stats, timings)
    navh = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in nav)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>curate run report: {esc(name)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>curate run report: {esc(name)}</h1><p>seed {esc(config.get('seed'))} · curate {esc(stats and manifest.get('curate_version', ''))}"
            f" · {n} examples per rule and side</p></header><nav>{navh}</nav><main>{''.join(body)}{volatile}</main></body></html>\n")


def volatile_block(run: Path, stats: dict, timings: dict | None) -> str:
    """The only part of the page allowed to differ between identical runs: run directory and wall times."""
    tim = timings or {}
    trows = []
    for stage, v in tim.items():
        if isinstance(v, dict):
            trows.append([stage, v.get("seconds", v.get("wall_s", "")), "reused" if v.get("reused") else ""])
        else:
            trows.append([stage, v, "reused" if (stats.get(stage) or {}).get("reused") else ""])
    return (f'{VOLATILE_BEGIN}<section id="timings"><h2>Timings and location</h2><p>Run directory: <code>{esc(run)}</code></p>'
            + (table(["stage", "wall seconds", "reused"], trows, numeric={1}) if trows else '<p class="muted">no timings recorded</p>')
            + f"</section>{VOLATILE_END}")


def replace_volatile(path: Path, run: Path, stats: dict, timings: dict | None) -> bool:
    """Swap a written page's volatile block for this run's (the rest of the page is unchanged by
    construction when its inputs are); False when the page has no such block."""
    page = Path(path).read_text(encoding="utf-8")
    a, b = page.find(VOLATILE_BEGIN), page.find(VOLATILE_END)
    if a < 0 or b < a:
        return False
    new = page[:a] + volatile_block(Path(run), stats, timings) + page[b + len(VOLATILE_END):]
    if new != page:
        write_text(path, new)
    return True


def stable_part(page: str) -> str:
    """The page without its volatile block: identical for identical runs, wherever they were written."""
    a, b = page.find(VOLATILE_BEGIN), page.find(VOLATILE_END)
    return page if a < 0 or b < a else page[:a] + page[b + len(VOLATILE_END):]


def stable_bytes(path: Path) -> bytes:
    """A run file's bytes, report.html without its volatile block (for comparing run directories)."""
    data = Path(path).read_bytes()
    return stable_part(data.decode("utf-8")).encode("utf-8") if Path(path).name == "report.html" else data


def write_html(run: Path, stats: dict, config: dict, manifest: dict, timings: dict | None = None) -> Path:
    path = RunLayout(run).report_html
    write_text(path, build_html(Path(run), stats, config, manifest, timings))
    return path
