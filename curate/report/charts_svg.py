"""Small inline SVG charts for report.html: grouped/stacked horizontal bars and step histograms.

Hand-written rather than drawn by matplotlib so that the page is fast to write, byte-identical for
identical inputs (every coordinate is rounded, nothing carries a date or an id), and laid out the way
a report needs: legends and threshold labels sit in bands of their own above the plot area, so they
never cover data.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

PALETTE = ("#3b6ea8", "#e07b39", "#8064a2", "#c0504d", "#4bacc6", "#9b8b3c", "#d16ba5", "#7f7f7f", "#2e8b8b", "#e6b422",
           "#1f2f5a", "#8c564b")
KEPT_COLOR = "#4f9d69"  # not in PALETTE: "kept" never shares its colour with a drop reason
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
CHAR_W = 6.6  # average width of a 11px character, for laying out labels


def color_for(names: list[str]) -> dict[str, str]:
    """A stable colour per name, in the order given."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def _f(x: float) -> str:
    """Coordinates with one decimal, without '-0.0'."""
    v = round(float(x), 1)
    return f"{v + 0.0:g}"


def _text(x, y, s, size=11, anchor="start", weight="normal", fill="#222") -> str:
    return (f'<text x="{_f(x)}" y="{_f(y)}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{fill}">{escape(str(s))}</text>')


def legend(items: list[tuple[str, str]], width: float, x0: float = 0, y0: float = 0, dashed: set[str] = frozenset()) -> tuple[list[str], float]:
    """Legend swatches laid out in rows that wrap at `width`; returns the SVG parts and its height."""
    parts, x, y = [], x0, y0
    for name, color in items:
        w = 18 + CHAR_W * len(name) + 14
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + 18
        if name in dashed:
            parts.append(f'<line x1="{_f(x)}" y1="{_f(y + 6)}" x2="{_f(x + 12)}" y2="{_f(y + 6)}" stroke="{color}" stroke-width="2" stroke-dasharray="4 2"/>')
        else:
            parts.append(f'<rect x="{_f(x)}" y="{_f(y)}" width="12" height="12" fill="{color}"/>')
        parts.append(_text(x + 16, y + 10, name))
        x += w
    return parts, (y - y0 + 18 if items else 0)


def _svg(width: float, height: float, parts: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" '
            f'height="{_f(height)}" role="img" aria-label="{escape(title)}" {FONT}>'
            f"<title>{escape(title)}</title>" + "".join(parts) + "</svg>")


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= v:
            return m * mag
    return 10 * mag


def _fmt_num(v: float) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def hbars(labels: list[str], series: list[tuple[str, list[float], str]], title: str, xlabel: str,
          stacked: bool = False, width: int = 760, value_fmt=None) -> str:
    """Horizontal bars, one group per label: stacked segments or one bar per series side by side."""
    label_w = max([CHAR_W * len(s) for s in labels] + [40]) + 10
    plot_w = width - label_w - 20
    leg, leg_h = legend([(n, c) for n, _, c in series], width - 10, 5, 26)
    top = 26 + leg_h + 6
    per = 22 if stacked else 12 * len(series) + 6
    gap = 10
    plot_h = len(labels) * (per + gap)
    totals = [sum(s[1][i] or 0 for s in series) for i in range(len(labels))] if stacked else [max((s[1][i] or 0 for s in series), default=0) for i in range(len(labels))]
    vmax = _nice_max(max(totals, default=0))
    height = top + plot_h + 40
    parts = [_text(5, 16, title, size=13, weight="bold")] + leg
    x0 = label_w
    for t in range(5):  # grid and ticks
        v = vmax * t / 4
        x = x0 + plot_w * t / 4
        parts.append(f'<line x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" y2="{_f(top + plot_h)}" stroke="#ddd"/>')
        parts.append(_text(x, top + plot_h + 14, _fmt_num(v), size=10, anchor="middle", fill="#555"))
    parts.append(_text(x0 + plot_w / 2, top + plot_h + 32, xlabel, size=11, anchor="middle", fill="#333"))
    for i, lab in enumerate(labels):
        y = top + i * (per + gap) + gap / 2
        parts.append(_text(label_w - 6, y + per / 2 + 4, lab, anchor="end"))
        acc = 0.0
        for k, (name, vals, color) in enumerate(series):
            v = float(vals[i] or 0)
            w = plot_w * v / vmax
            if stacked:
                if v > 0:
                    shown = value_fmt(v) if value_fmt else f"{v:g}"
                    parts.append(f'<rect x="{_f(x0 + plot_w * acc / vmax)}" y="{_f(y)}" width="{_f(max(w, 0.5))}" height="{per}" fill="{color}">'
                                 f"<title>{escape(f'{lab} · {name}: {shown}')}</title></rect>")
                acc += v
            else:
                by = y + k * 12
                if vals[i] is None:  # e.g. a source without a target of its own
                    parts.append(_text(x0 + 3, by + 9, f"no {name}", size=9, fill="#888"))
                    continue
                shown = value_fmt(v) if value_fmt else f"{v:g}"
                parts.append(f'<rect x="{_f(x0)}" y="{_f(by)}" width="{_f(max(w, 0))}" height="10" fill="{color}">'
                             f"<title>{escape(f'{lab} · {name}: {shown}')}</title></rect>")
                parts.append(_text(x0 + w + 3, by + 9, shown, size=9, fill="#444"))
        if stacked:
            parts.append(_text(x0 + plot_w * acc / vmax + 4, y + per / 2 + 4, value_fmt(acc) if value_fmt else f"{acc:g}", size=10, fill="#444"))
    parts.append(f'<line x1="{_f(x0)}" y1="{_f(top)}" x2="{_f(x0)}" y2="{_f(top + plot_h)}" stroke="#888"/>')
    return _svg(width, height, parts, title)


def histogram(series: list[tuple[str, np.ndarray, str]], title: str, xlabel: str, thresholds: list[tuple[float, str]] = (),
              bins: int = 30, width: int = 420, height: int = 230, log_x: bool = False) -> str:
    """Step histograms of several series on shared bins, with vertical threshold lines.

    Counts are per series (not stacked); each series is a filled outline so overlaps stay readable.
    Threshold labels go in a band above the plot; the legend goes above that."""
    clean = []
    for name, v, color in series:
        v = np.asarray(v, dtype=np.float64)
        v = v[np.isfinite(v)]
        if log_x:
            v = np.log10(np.maximum(v, 1.0))
        clean.append((name, v, color))
    allv = np.concatenate([v for _, v, _ in clean]) if clean else np.zeros(0)
    tx = [(math.log10(max(t, 1.0)) if log_x else t, lab, t) for t, lab in thresholds if t is not None and math.isfinite(t)]
    lo = float(min([allv.min()] if allv.size else [0.0]))
    hi = float(max([allv.max()] if allv.size else [1.0]))
    for t, _, _ in tx:
        lo, hi = min(lo, t), max(hi, t)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    elif 0 < lo < 0.05 * hi:  # scores and fractions: start the axis at 0, not at 3e-12
        lo = 0.0
    edges = np.linspace(lo, hi, bins + 1)
    counts = [np.histogram(v, bins=edges)[0] for _, v, _ in clean]
    cmax = _nice_max(max([int(c.max()) for c in counts if c.size] + [1]))
    leg, leg_h = legend([(n, c) for n, _, c in clean] + ([("rule threshold", "#c0392b")] if tx else []), width - 10, 5, 24,
                        dashed={"rule threshold"})
    band = 14 * len(tx) + 2 if tx else 0
    top = 24 + leg_h + band + 4
    left, right, bottom = 44, 12, 38
    pw, ph = width - left - right, height - bottom - (24 + 40)  # fixed plot height, independent of the legend
    ph = max(ph, 110)
    total_h = top + ph + bottom
    X = lambda x: left + pw * (x - lo) / (hi - lo)  # noqa: E731
    Y = lambda c: top + ph - ph * c / cmax  # noqa: E731
    parts = [_text(5, 16, title, size=12, weight="bold")] + leg
    for t in range(5):
        c = cmax * t / 4
        parts.append(f'<line x1="{_f(left)}" y1="{_f(Y(c))}" x2="{_f(left + pw)}" y2="{_f(Y(c))}" stroke="#eee"/>')
        parts.append(_text(left - 4, Y(c) + 3, _fmt_num(c), size=9, anchor="end", fill="#555"))
    for t in range(5):
        x = lo + (hi - lo) * t / 4
        parts.append(_text(X(x), top + ph + 13, f"{10 ** x:.3g}" if log_x else f"{x:.3g}", size=9, anchor="middle", fill="#555"))
    parts.append(_text(left + pw / 2, top + ph + 30, f"{xlabel} (log scale)" if log_x else xlabel, size=10, anchor="middle", fill="#333"))
    for (name, v, color), c in zip(clean, counts):
        pts = [f"{_f(X(edges[0]))},{_f(Y(0))}"]
        for i, n in enumerate(c):
            pts.append(f"{_f(X(edges[i]))},{_f(Y(n))}")
            pts.append(f"{_f(X(edges[i + 1]))},{_f(Y(n))}")
        pts.append(f"{_f(X(edges[-1]))},{_f(Y(0))}")
        parts.append(f'<polygon points="{" ".join(pts)}" fill="{color}" fill-opacity="0.18" stroke="{color}" stroke-width="1.4">'
                     f"<title>{escape(f'{name}: {int(v.size)} documents')}</title></polygon>")
    for j, (t, lab, raw) in enumerate(tx):
        x = X(t)
        parts.append(f'<line x1="{_f(x)}" y1="{_f(top - band)}" x2="{_f(x)}" y2="{_f(top + ph)}" stroke="#c0392b" stroke-width="1.6" stroke-dasharray="5 3"/>')
        anchor = "start" if x < left + pw * 0.6 else "end"
        parts.append(_text(x + (3 if anchor == "start" else -3), top - band + 10 + 14 * j, f"{lab} = {raw:.3g}", size=10, anchor=anchor, fill="#c0392b"))
    parts.append(f'<line x1="{_f(left)}" y1="{_f(top + ph)}" x2="{_f(left + pw)}" y2="{_f(top + ph)}" stroke="#888"/>')
    return _svg(width, total_h, parts, title)
