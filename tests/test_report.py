"""Run reports: report.html's examples per rule are the documents select really dropped/kept, text is
escaped, the page is deterministic and self-contained; report.md's numbers (train vs held-out, one
kept-% denominator, mixture per role and source, warnings, shards, repeated tokens); `curate show`."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import make_docs, write_jsonl
from curate.pipeline import run_pipeline
from curate.report import render
from curate.report.facts import funnel_by_role, funnel_by_source, mixture_rows, tokens_by_source
from curate.report.html import stable_part
from curate.report.samples import all_samples, load_view, margin, rule_rows
from curate.show import show

HOSTILE = "<script>alert('pwned')</script><img src=x onerror=alert(1)> short & sweet"

PIPELINE = """
name: rep
seed: 5
sources:
  - name: fin
    role: domain
    paths: [in/fin/*]
  - name: gen
    role: general
    paths: [in/gen/*]
annotate:
  batch_size: 64
  langid: null
  keywords: [{name: finance}]
  dedup_keys: {}
dedup: {threshold: 0.8}
select:
  rules:
    - {name: too_short, keep: "word_count >= 40"}
    - {name: low_density, mode: threshold, column: kw_finance_per_1k, threshold: 20, roles: [domain]}
    - {name: top_words, mode: top_fraction, column: word_count, fraction: 0.9, roles: [domain]}
    - {name: pareto_len, mode: pareto, column: alpha_word_fraction, alpha: 3}
report: {examples: %(examples)d}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    docs = make_docs(120, 1, "f")
    docs.append({"id": "evil", "text": HOSTILE})
    write_jsonl(root / "in" / "fin" / "a.jsonl", docs)
    write_jsonl(root / "in" / "fin" / "b.jsonl.gz", make_docs(60, 2, "g") + [dict(d, id=f"copy{i}") for i, d in enumerate(docs[:4])], gz=True)
    write_jsonl(root / "in" / "gen" / "c.jsonl", make_docs(90, 3, "h"))
    (root / "in" / "gen" / "c.jsonl").open("ab").write(b'{"id": "broken", "text": "no end\n')
    (root / "p.yaml").write_text(PIPELINE % {"examples": 4})
    import os

    old = os.getcwd()
    os.chdir(root)
    try:
        res = run_pipeline(root / "p.yaml", out=root / "r1", workers=2, progress=False)
    finally:
        os.chdir(old)
    return root, res


def page(run_dir: Path) -> str:
    return (run_dir / "report.html").read_text(encoding="utf-8")


class _Attrs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href", "action", "data", "poster", "srcset") or (k == "style" and v and "url(" in v):
                self.links.append((k, v or ""))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Attrs:
    p = _Attrs()
    p.feed(html)
    return p


def test_every_rule_dedup_and_quarantine_have_examples(run):
    root, res = run
    html = page(res.run_dir)
    for name in ("too_short", "low_density", "top_words", "pareto_len"):
        assert f'<div class="rule" id="rule-{name}"><h3>Rule' in html and f"<code>{name}</code>" in html, name
    assert 'id="dedup-exact_duplicate"' in html and '<section id="quarantine">' in html
    view = load_view(res.run_dir)
    samples = {s.name: s for s in all_samples(view, 4, res.stats["select"]["cutoffs"])}
    for k, rule in enumerate(view.select.rules):
        s = samples[rule.name]
        assert s.dropped_total == res.stats["select"]["total"]["drops"].get(rule.name, 0)
        assert len(s.dropped) == min(4, s.dropped_total) and len(s.kept) == min(4, s.kept_total)
        for e in s.dropped:  # a dropped example was dropped by this rule, and its text is on the page
            assert e.fate == rule.name
            first = next(line for line in e.text.splitlines() if line.strip())[:60]
            assert _esc(first) in html
    # the decided values are the rule's: too_short's dropped documents really are short
    assert all(e.values["word_count"] < 40 for e in samples["too_short"].dropped)
    assert all(e.values["kw_finance_per_1k"] < 20 and e.role == "domain" for e in samples["low_density"].dropped)
    q = samples["quarantine"]
    assert q.dropped_total == 1 and q.dropped[0].line == 91 and q.dropped[0].file.endswith("c.jsonl")


def _esc(s: str) -> str:
    from html import escape

    return escape(s, quote=True)


def test_kept_examples_are_closest_to_the_threshold(run):
    _, res = run
    view = load_view(res.run_dir)
    cutoffs = res.stats["select"]["cutoffs"]
    for k, rule in enumerate(view.select.rules):
        if rule.mode == "pareto":
            continue
        dropped, kept = rule_rows(view, k)
        m = margin(view, rule, kept, cutoffs)
        s = next(x for x in all_samples(view, 4, cutoffs) if x.name == rule.name)
        if m is None or not kept.size:
            continue
        assert (m >= 0).all() or rule.mode == "expr"  # a kept document is never below its threshold
        shown = sorted(margin(view, rule, np.array([_row(view, e) for e in s.kept]), cutoffs).tolist())
        assert shown == sorted(np.sort(m)[: len(s.kept)].tolist())


def _row(view, e) -> int:
    ids = view.decisions.column("id").to_pylist()
    srcs = view.decisions.column("source").to_pylist()
    return next(i for i, (a, b) in enumerate(zip(ids, srcs)) if a == e.id and b == e.source)


def test_document_text_cannot_inject_html(run):
    _, res = run
    html = page(res.run_dir)
    view = load_view(res.run_dir)
    assert any(e.id == "evil" for s in all_samples(view, 50, res.stats["select"]["cutoffs"]) for e in s.dropped)
    render_dir = res.run_dir
    (render_dir / "config.yaml").write_text((render_dir / "config.yaml").read_text().replace("examples: 4", "examples: 50"))
    try:
        render(render_dir)
        html = page(render_dir)
        p = parse(html)
        assert "script" not in p.tags and "img" not in p.tags  # no element came from a document
        assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html
        assert HOSTILE in "".join(p.text)  # shown as text, verbatim
    finally:
        (render_dir / "config.yaml").write_text((render_dir / "config.yaml").read_text().replace("examples: 50", "examples: 4"))
        render(render_dir)


def test_page_is_self_contained(run):
    _, res = run
    html = page(res.run_dir)
    p = parse(html)
    assert all(v.startswith("#") for _, v in p.links), p.links  # only in-page anchors: nothing is fetched
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags


def test_page_is_deterministic_and_rewritten_on_resume(run, tmp_path):
    root, res = run
    first = page(res.run_dir)
    render(res.run_dir)
    assert page(res.run_dir) == first  # byte-identical, timings included, when nothing changed
    import os

    old = os.getcwd()
    os.chdir(root)
    try:
        other = page(run_pipeline(root / "p.yaml", out=tmp_path / "r2", workers=1, progress=False).run_dir)
        (res.run_dir / "report.html").unlink()
        again = run_pipeline(root / "p.yaml", out=res.run_dir, workers=1, progress=False)  # resume: every task done
        # report.examples is not part of the fingerprint: the same run dir accepts a new sample size
        (root / "p2.yaml").write_text(PIPELINE % {"examples": 1})
        three = run_pipeline(root / "p2.yaml", out=tmp_path / "r2", workers=1, progress=False)
    finally:
        os.chdir(old)
    assert (res.run_dir / "report.html").exists() and stable_part(page(again.run_dir)) == stable_part(first)
    # another directory, another worker count: only the volatile block (run directory, timings) differs
    assert stable_part(other) == stable_part(first) and other != first
    assert stable_part(page(three.run_dir)) != stable_part(other)  # 1 example per side now
    assert page(three.run_dir).count('<div class="ex">') < other.count('<div class="ex">')


def test_unchanged_reports_are_kept_on_resume_and_equal_a_fresh_render(run, tmp_path):
    """A resume that changed nothing keeps report.md and the charts (not rewritten) and only swaps the
    page's timings block; the result is byte-identical to drawing both reports again."""
    import os
    import shutil

    root, res = run
    copy = tmp_path / "r"
    shutil.copytree(res.run_dir, copy)
    render(copy)  # reports for this directory (report.md names it) and their fingerprint
    files = ["report.md", "funnel.svg", "signals.svg", "report.fingerprint"]
    before = {f: (copy / f).stat().st_mtime_ns for f in files}
    old = os.getcwd()
    os.chdir(root)
    try:
        again = run_pipeline(root / "p.yaml", out=copy, workers=1, progress=False)
    finally:
        os.chdir(old)
    assert all(again.reuse[s]["reused"] == again.reuse[s]["tasks"] for s in again.reuse)
    assert {f: (copy / f).stat().st_mtime_ns for f in files} == before  # not drawn again
    kept = {f: (copy / f).read_bytes() for f in ("report.md", "report.html", "funnel.svg", "signals.svg")}
    timings = orjson.loads((copy / "timings.json").read_bytes())
    assert all(f"<td class=\"n\">{timings[s]:,.4g}</td>" in kept["report.html"].decode() for s in ("annotate", "select"))  # this run's
    render(copy)  # drawn from scratch: the same bytes
    assert {f: (copy / f).read_bytes() for f in kept} == kept
    # a changed or missing output, or a changed input, is drawn again
    (copy / "signals.svg").unlink()
    render(copy, reuse=True)
    assert (copy / "signals.svg").read_bytes() == kept["signals.svg"]
    (copy / "report.md").write_text("edited")
    render(copy, reuse=True)
    assert (copy / "report.md").read_bytes() == kept["report.md"]
    cfg = (copy / "config.yaml").read_text()
    (copy / "config.yaml").write_text(cfg.replace("examples: 4", "examples: 1"))
    render(copy, reuse=True)
    assert (copy / "report.html").read_bytes().count(b'<div class="ex">') < kept["report.html"].count(b'<div class="ex">')


def test_report_md_numbers(run):
    _, res = run
    md = (res.run_dir / "report.md").read_text()
    s = res.stats
    read = s["annotate"]["total"]["docs_in"]
    kept = s["select"]["total"]["docs_out"]
    assert f"Kept {kept:,} of {read:,} documents read ({100 * kept / read:.1f}%" in md
    rows = funnel_by_source(s)
    for src, r in rows.items():  # the funnel's kept % uses the same denominator
        assert f"| {src} | {r.read:,} | {r.quarantined:,} | {r.deduplicated:,} | {r.kept:,} | {100 * r.kept / r.read:.1f} |" in md
    assert sum(r.read for r in rows.values()) == read
    roles = funnel_by_role(s, load_view(res.run_dir).config)
    assert set(roles) == {"domain", "general"} and sum(r.kept for r in roles.values()) == kept
    assert "| role | read |" in md


def test_train_and_heldout_are_counted_apart():
    stats = {"tokenize": {"sources": {"a": {"docs": 100, "tokens": 5000, "val_docs": 7, "val_tokens": 300}}}}
    (row,) = tokens_by_source(stats)
    assert (row.train_docs, row.train_tokens, row.heldout_docs, row.heldout_tokens) == (93, 4700, 7, 300)


MIXTURE = {"by": "role", "target": {"domain": 0.5, "general": 0.5, "code": 0.0}, "total_tokens": 1000,
           "warnings": ["role `code` is not in mix.target: it gets 0 tokens"],
           "sources": {"f": {"role": "domain", "tokens": 500, "available_tokens": 200, "epochs": 2.5},
                       "g": {"role": "general", "tokens": 300, "available_tokens": 400, "epochs": 0.75},
                       "w": {"role": "general", "tokens": 200, "available_tokens": 100, "epochs": 2.0}}}


def test_mixture_rows_cover_every_role_and_source():
    rows = mixture_rows(MIXTURE)
    names = [(r.kind, r.name) for r in rows]
    assert names == [("role", "code"), ("role", "domain"), ("role", "general"), ("source", "f"), ("source", "g"), ("source", "w")]
    by = {r.name: r for r in rows}
    assert by["domain"].target == 0.5 and by["f"].target is None and by["general"].achieved == 0.5
    assert by["f"].repeated_tokens == 300 and by["g"].repeated_tokens == 0 and by["general"].repeated_tokens == 100


def test_report_md_mixture_warnings_shards_repeats(tmp_path):
    from curate.report.markdown import write_markdown

    manifest = {"mixture": MIXTURE, "shards": [{"path": "shards/train_00000.bin", "split": "train", "tokens": 1000, "documents": 9},
                                               {"path": "shards/val_f.bin", "split": "val", "tokens": 50, "documents": 1}]}
    md = write_markdown(tmp_path, "t", 1, {}, {"sources": []}, MIXTURE, manifest, []).read_text()
    assert "role `code` is not in mix.target" in md
    assert f"Shards: `{tmp_path / 'shards'}/`" in md and "1 train files (1,000 tokens)" in md
    assert "of which 400 (40.0%) repeat" in md
    for name in ("code (role)", "domain (role)", "general (role)", "f (domain)", "g (general)", "w (general)"):
        assert f"| {name} |" in md


def test_md_charts_are_svg_files_beside_it(run, tmp_path):
    """report.md links SVG charts (no matplotlib at run time); the signal grid's charts never overlap."""
    _, res = run
    md = (res.run_dir / "report.md").read_text()
    for name in ("funnel", "signals"):
        assert f"![{name}]({name}.svg)" in md
        assert (res.run_dir / f"{name}.svg").read_text().startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert not list(res.run_dir.glob("*.png"))
    grid = (res.run_dir / "signals.svg").read_text()
    boxes = []
    for m in re.finditer(r'<svg x="([\d.]+)" y="([\d.]+)" xmlns="[^"]+" viewBox="0 0 ([\d.]+) ([\d.]+)"', grid):
        boxes.append(tuple(float(v) for v in m.groups()))
    assert len(boxes) == len(re.findall("<svg ", grid)) - 1 >= 4  # every signal column, nested in the grid
    for i, (x, y, w, h) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    outer_w, outer_h = (float(v) for v in re.match(r'<svg [^>]*viewBox="0 0 ([\d.]+) ([\d.]+)"', grid).groups())
    assert all(x + w <= outer_w and y + h <= outer_h for x, y, w, h in boxes)
    # byte-identical when drawn again elsewhere from the same files
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(res.run_dir, copy)
    (copy / "signals.svg").unlink()
    (copy / "funnel.svg").unlink()
    render(copy)
    for name in ("funnel.svg", "signals.svg"):
        assert (copy / name).read_bytes() == (res.run_dir / name).read_bytes()


def test_svg_legends_sit_above_the_plot():
    from curate.report.charts_svg import hbars, histogram

    def ys(svg, pattern):
        return [float(m) for m in re.findall(pattern, svg)]

    h = histogram([(f"series{i}", np.arange(50) * (i + 1), "#123456") for i in range(7)], "t", "x", [(20.0, "x")], width=300)
    legend_bottom = max(ys(h, r'<rect x="[\d.]+" y="([\d.]+)" width="12" height="12"')) + 12
    plot_top = min(float(p.split(",")[1]) for poly in re.findall(r'points="([^"]+)"', h) for p in poly.split())
    assert legend_bottom < plot_top
    b = hbars(["a", "b"], [(f"r{i}", [i, i + 1], "#654321") for i in range(9)], "t", "x", stacked=True, width=320)
    legend_bottom = max(ys(b, r'<rect x="[\d.]+" y="([\d.]+)" width="12" height="12"')) + 12
    bars_top = min(ys(b, r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="22"'))
    assert legend_bottom < bars_top


def test_show_prints_the_reports_examples(run):
    _, res = run
    cli = CliRunner()
    out = cli.invoke(show, [str(res.run_dir), "--rule", "too_short", "--dropped", "-n", "3", "--json"])
    assert out.exit_code == 0, out.output
    (s,) = orjson.loads(out.output)
    assert s["name"] == "too_short" and "kept" not in s and len(s["dropped"]) == min(3, s["dropped_total"])
    html = page(res.run_dir)
    for e in s["dropped"]:  # the same documents (same seed, same draw) are in the report
        assert f"<b>{_esc(e['id'])}</b>" in html and e["fate"] == "too_short" and "word_count" in e["values"]
    text = cli.invoke(show, [str(res.run_dir), "--rule", "too_short", "-n", "2"])
    assert text.exit_code == 0 and "-- dropped" in text.output and "-- kept just above its threshold" in text.output
    one = cli.invoke(show, [str(res.run_dir), "--id", "evil", "--json"])
    (e,) = orjson.loads(one.output)
    assert e["text"] == HOSTILE and e["fate"] != "kept"
    src = cli.invoke(show, [str(res.run_dir), "--source", "gen", "--json"])
    assert all(x["source"] == "gen" for s in orjson.loads(src.output) for side in ("dropped", "kept") for x in s.get(side, []))
    bad = cli.invoke(show, [str(res.run_dir), "--rule", "nope"])
    assert bad.exit_code != 0 and "too_short" in str(bad.exception)


def test_decisions_match_selected(run):
    """decisions/ says kept exactly for the rows in selected/ (the examples come from select's own verdicts)."""
    _, res = run
    view = load_view(res.run_dir)
    kept = view.decisions.filter(view.decisions.column("reason").is_null())
    selected = sorted((t["source"], t["file"], t["line"]) for p in sorted((res.run_dir / "selected").rglob("*.parquet"))
                      for t in pq.read_table(p, columns=["source", "file", "line"]).to_pylist())
    assert sorted((t["source"], t["file"], t["line"]) for t in kept.select(["source", "file", "line"]).to_pylist()) == selected
    assert len(selected) == res.stats["select"]["total"]["docs_out"]


def test_quarantine_excerpts_are_redacted_like_selected_text(tmp_path):
    from curate.pii.config import PiiSelectConfig
    from curate.report.samples import quarantine_sample

    q = tmp_path / "quarantine" / "web"
    q.mkdir(parents=True)
    rec = {"file": "in/web.jsonl", "line": 7, "reason": "malformed JSON", "detail": "x", "excerpt": '{"text": "mail jane.doe@example.com now'}
    (q / "00000-web.jsonl").write_bytes(orjson.dumps(rec) + b"\n")
    raw = quarantine_sample(tmp_path, 5, 1)
    red = quarantine_sample(tmp_path, 5, 1, pii=PiiSelectConfig())
    assert "jane.doe@example.com" in raw.dropped[0].text
    assert "jane.doe@example.com" not in red.dropped[0].text and red.dropped[0].line == 7


def test_sampled_view_keeps_exact_totals_and_finds_every_row(run, monkeypatch, tmp_path):
    """Above the sample bound the view holds a seeded sample of decision rows: totals stay exact, examples
    are real rows with the fate select gave them (the same for the same run), lookups by id and the kept
    copy of a duplicate see every row, and the page says the histograms are drawn from a sample."""
    from curate.report import facts, view as view_mod
    from curate.report.samples import find_id

    _, res = run
    cutoffs = res.stats["select"]["cutoffs"]
    full = load_view(res.run_dir)
    cut = load_view(res.run_dir, bound=60)
    assert not full.sampled and cut.sampled and cut.total_rows == full.total_rows == full.decisions.num_rows
    assert 20 < cut.decisions.num_rows < 120
    assert load_view(res.run_dir, bound=60).decisions.equals(cut.decisions)  # seeded: the same rows every time
    exact = {s.name: s for s in all_samples(full, 4, cutoffs)}
    got = all_samples(cut, 4, cutoffs)
    assert [s.to_json() for s in got] == [s.to_json() for s in all_samples(load_view(res.run_dir, bound=60), 4, cutoffs)]
    assert [s.name for s in got] == list(exact)
    for s in got:
        assert (s.dropped_total, s.kept_total) == (exact[s.name].dropped_total, exact[s.name].kept_total), s.name
        for e in s.dropped:
            assert e.fate == s.name or s.kind == "quarantine"
    for src in ("fin", "gen"):
        by_src = {s.name: s for s in all_samples(full, 2, cutoffs, source=src)}
        assert all(s.dropped_total == by_src[s.name].dropped_total for s in all_samples(cut, 2, cutoffs, source=src))
    dup = next(s for s in got if s.kind == "dedup")
    for e in dup.dropped:  # the kept copy is found even when the sample does not hold it
        assert e.twin is not None and e.twin.id == e.values["duplicate_of"] and e.twin.fate not in ("exact_duplicate", "near_duplicate")
    ids = set(cut.decisions.column("id").to_pylist())
    missing = next(i for i in full.decisions.column("id").to_pylist() if i not in ids)
    assert [e.to_json() for e in find_id(cut, missing)] == [e.to_json() for e in find_id(full, missing)] != []
    # the report itself, rendered with a small bound: exact funnel counts, histograms marked as a sample
    monkeypatch.setattr(view_mod, "SAMPLE_ROWS", 60)
    facts.clear_cache()
    copy = tmp_path / "run"
    import shutil

    shutil.copytree(res.run_dir, copy)
    (copy / "report.html").unlink()
    render(copy)
    html = page(copy)
    assert "seeded sample of about 60 of the" in html and "a sample of the documents reaching this rule" in html
    assert stable_part(page(res.run_dir)).count("dropped per source") == stable_part(html).count("dropped per source")
    facts.clear_cache()
