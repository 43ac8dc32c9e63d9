"""The run's charts as SVG, shared by both reports: the funnel, the signal histograms and the mixture.

report.html inlines them; report.md links them as files beside it (`funnel.svg`, `signals.svg`,
`mixture.svg`). Both are drawn by `charts_svg`, so they are quick to write and byte-identical for
identical inputs.
"""

from __future__ import annotations

import re

import numpy as np

from curate.report import charts_svg as svg
from curate.report.facts import FunnelRow, MixRow


def funnel_svg(rows: dict[str, FunnelRow], reasons: list[str], title: str) -> str:
    """Stacked bars per source (and role): kept, quarantined, then each drop reason."""
    names = list(rows)
    labels = ["kept", "quarantined"] + reasons
    colors = svg.color_for(labels[1:])
    colors["kept"] = svg.KEPT_COLOR
    series = [("kept", [rows[n].kept for n in names], colors["kept"]),
              ("quarantined", [rows[n].quarantined for n in names], colors["quarantined"])]
    series += [(r, [rows[n].drops.get(r, 0) for n in names], colors[r]) for r in reasons]
    series = [s for s in series if any(s[1])]
    return svg.hbars(names, series, title, "documents read", stacked=True, value_fmt=lambda v: f"{int(v):,}")


def mixture_svg(rows: list[MixRow]) -> str:
    """Target vs achieved token share for every role and every source ("no target" where it has none)."""
    labels = [f"{r.name} ({r.kind}{', ' + r.role if r.kind == 'source' else ''})" for r in rows]
    return svg.hbars(labels, [("target", [r.target for r in rows], "#9bb7d4"), ("achieved", [r.achieved for r in rows], "#3b6ea8")],
                     "Token shares: target vs achieved, per role and per source", "share of mixed tokens", value_fmt=lambda v: f"{v:.3f}")


def epochs_svg(rows: list[MixRow]) -> str:
    srows = [r for r in rows if r.kind == "source"]
    return svg.hbars([r.name for r in srows], [("epochs", [r.epochs or 0 for r in srows], "#e07b39")], "Epochs per source", "epochs",
                     value_fmt=lambda v: f"{v:.2f}") if srows else ""


def signal_histograms(data: dict[str, dict[str, np.ndarray]], colors: dict[str, str]) -> list[str]:
    """One histogram per column, one outline per group (role or source)."""
    return [svg.histogram([(g, v, colors.get(g, "#777")) for g, v in groups.items()], c, c, log_x=(c == "word_count"))
            for c, groups in data.items()]


_SIZE = re.compile(r'^<svg [^>]*viewBox="0 0 ([\d.]+) ([\d.]+)"')


def grid(charts: list[str], title: str, ncol: int = 3, gap: int = 8) -> str:
    """Several charts in one SVG file, `ncol` per row (for a Markdown page, which cannot lay out a grid)."""
    sizes = [tuple(float(x) for x in _SIZE.match(c).groups()) for c in charts]  # type: ignore[union-attr]
    parts, y, width = [], 28.0, 0.0
    for i in range(0, len(charts), ncol):
        row, x = charts[i:i + ncol], 0.0
        for c, (w, _) in zip(row, sizes[i:i + ncol]):
            parts.append(c.replace("<svg ", f'<svg x="{svg._f(x)}" y="{svg._f(y)}" ', 1))
            x += w + gap
        width = max(width, x - gap)
        y += max(h for _, h in sizes[i:i + ncol]) + gap
    return svg._svg(max(width, 200), y, [svg._text(5, 18, title, size=14, weight="bold")] + parts, title)
