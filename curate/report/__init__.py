"""Run reports: `report.md` (with SVG charts beside it) and `report.html` (self-contained, with example
documents per rule), both written from a run directory's files, never by re-running a stage.

    from curate.report import render
    render("runs/demo")          # rewrite report.md and report.html of a finished run

The pipeline's hook (`write_report`) skips the drawing when nothing the reports are made from changed
since they were written (`curate.report.inputs`): a resumed run that reused every task then only
swaps the page's timings block.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from curate.io.atomic import read_json
from curate.layout import RunLayout
from curate.report.inputs import remember, report_fingerprint, unchanged
from curate.stages.base import ordered


def _read(path: Path) -> dict:
    return read_json(path) if path.exists() else {}


def render(run_dir: str | Path, stats: dict | None = None, reuse: bool = False) -> tuple[Path, Path]:
    """Write report.md and report.html from the run directory (stats.json unless `stats` is given).
    With `reuse`, reports whose inputs are unchanged are kept (only the page's timings are updated)."""
    from curate.report.html import stable_bytes

    run = Path(run_dir)
    layout = RunLayout(run)
    if stats is None:
        stats = _read(layout.stats).get("stages", {})
    # key order as in stats.json (sorted), so a report rendered from memory or from the file is the same
    stats = orjson.loads(orjson.dumps(stats, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY))
    order = [e.name for e in ordered()]  # stages in run order, any unregistered one after them
    stats = {k: stats[k] for k in sorted(stats, key=lambda k: (order.index(k) if k in order else len(order), k))}
    fp = report_fingerprint(run, stats)
    if reuse and unchanged(run, fp, stable_bytes):
        from curate.report.html import replace_volatile

        if replace_volatile(layout.report_html, run, stats, _read(layout.timings)):
            return layout.report, layout.report_html
    from curate.report.facts import annotated_files, clear_cache, run_config
    from curate.report.html import write_html
    from curate.report.markdown import write_markdown

    config = run_config(run)
    manifest = _read(layout.manifest)
    mixture = manifest.get("mixture") or _read(layout.mixture).get("mixture", {})
    if mixture and not manifest.get("mixture"):
        manifest = {**manifest, "mixture": mixture}
    try:
        md = write_markdown(run, config.get("name", "run"), config.get("seed", 0), stats, config, mixture, manifest,
                            annotated_files(run, config))
        html = write_html(run, stats, config, manifest, _read(layout.timings))
    finally:
        clear_cache()  # the signal columns both reports drew from
    remember(run, fp, stable_bytes)
    return md, html


def write_report(ctx, stats: dict) -> Path:
    """The pipeline's hook: both reports for the run `ctx` just made; returns report.md's path."""
    return render(ctx.run_dir, stats, reuse=True)[0]
