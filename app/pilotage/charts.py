"""Small server-rendered SVG charts (no JavaScript, no CDN), each shown with its data table."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

PALETTE = ("#1f4e8c", "#b3541e", "#2e7d4f", "#6b3fa0")


@dataclass
class Series:
    label: str
    values: list[float | None]


def _fmt(value: float | None) -> str:
    """A figure in the reader's language ("12,5", "1 234" in French), as on the page."""
    if value is None:  # nothing measured, or a masked figure: no bar, no made-up zero
        return "—"
    from app.core.i18n import fnumber

    return str(fnumber(value))


def bars(categories: list[str], series: list[Series], title: str, target: float | None = None,
         target_label: str = "", width: int = 640, height: int = 260,
         chart_id: str = "chart") -> str:
    """Grouped vertical bars, with an optional dashed target line. ``chart_id`` prefixes the ids
    of the drawing, so it must be unique on the page."""
    left, bottom, top = 40, 40, 20
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max([v or 0 for s in series for v in s.values] + [target or 0, 1])
    groups = max(len(categories), 1)
    slot = plot_w / groups
    bar_w = max(2.0, slot * 0.8 / max(len(series), 1))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-labelledby="{escape(chart_id)}-title" class="chart">',
             f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
             'stroke="#4a4a55"/>']
    for i, category in enumerate(categories):
        for j, s in enumerate(series):
            value = s.values[i]
            h = plot_h * (value or 0) / peak
            x = left + i * slot + slot * 0.1 + j * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                         f'<title>{escape(category)} — {escape(s.label)} : {_fmt(value)}</title></rect>')
        if groups <= 14 or i % max(1, groups // 12) == 0:
            parts.append(f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - 22}" '
                         f'font-size="11" text-anchor="middle" fill="#1b1b1f">{escape(category)}</text>')
    if target is not None:
        y = top + plot_h - plot_h * target / peak
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                     'stroke="#a4161a" stroke-width="2" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{left + plot_w}" y="{y - 4:.1f}" font-size="11" '
                     f'text-anchor="end" fill="#a4161a">{escape(target_label)}</text>')
    for j, s in enumerate(series):
        parts.append(f'<rect x="{left + j * 170}" y="{height - 12}" width="10" height="10" '
                     f'fill="{PALETTE[j % len(PALETTE)]}"/>'
                     f'<text x="{left + j * 170 + 14}" y="{height - 3}" font-size="11" '
                     f'fill="#1b1b1f">{escape(s.label)}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + 4}" font-size="11" text-anchor="end" '
                 f'fill="#4a4a55">{_fmt(peak)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hbars(rows: list[tuple[str, float | None]], title: str, width: int = 640) -> str:
    """Horizontal bars, one per row (a breakdown by domain, by reason); None draws no bar."""
    height = 24 * max(len(rows), 1) + 10
    label_w, peak = 220, max([v or 0 for _l, v in rows] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" class="chart"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        w = (width - label_w - 60) * (value or 0) / peak
        y = 5 + i * 24
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" font-size="12" text-anchor="end" '
                     f'fill="#1b1b1f">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="16" '
                     f'fill="{PALETTE[0]}"/><text x="{label_w + w + 4:.1f}" y="{y + 14}" '
                     f'font-size="12" fill="#1b1b1f">{_fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)
