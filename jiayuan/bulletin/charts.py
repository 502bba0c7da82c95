"""Small line charts as inline SVG, drawn on the server (no chart library, no CDN)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

__all__ = ["line_chart"]


def line_chart(values: list, labels: list[str], *, width: int = 640, height: int = 180, title: str = "") -> SafeString:
    """A polyline through the known values (gaps where a day has none), the maximum and the last
    value written on the chart, the first and last day under it."""
    pad_l, pad_r, pad_t, pad_b = 8, 8, 24, 22
    known = [v for v in values if v is not None]
    top = max(known, default=0) or 1
    n = max(len(values) - 1, 1)

    def x(i):
        return pad_l + (width - pad_l - pad_r) * i / n

    def y(v):
        return pad_t + (height - pad_t - pad_b) * (1 - v / top)

    paths, current = [], []
    for i, v in enumerate(values):
        if v is None:
            if current:
                paths.append(current)
            current = []
        else:
            current.append(f"{x(i):.1f},{y(v):.1f}")
    if current:
        paths.append(current)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="none">',
        f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" y2="{height - pad_b}" stroke="#d9e2ec"/>',
    ]
    for pts in paths:
        if len(pts) == 1:
            cx, cy = pts[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="#b42318"/>')
        else:
            parts.append(f'<polyline fill="none" stroke="#b42318" stroke-width="2" points="{" ".join(pts)}"/>')
    last = next((v for v in reversed(values) if v is not None), None)
    parts.append(
        f'<text x="{pad_l}" y="14" font-size="12" fill="#52606d">max {escape(_fmt(max(known, default=0)))}</text>'
    )
    if last is not None:
        parts.append(
            f'<text x="{width - pad_r}" y="14" font-size="12" fill="#1f2933" text-anchor="end">'
            f"{escape(_fmt(last))}</text>"
        )
    if labels:
        parts.append(f'<text x="{pad_l}" y="{height - 4}" font-size="11" fill="#52606d">{escape(labels[0])}</text>')
        parts.append(
            f'<text x="{width - pad_r}" y="{height - 4}" font-size="11" fill="#52606d" text-anchor="end">'
            f"{escape(labels[-1])}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _fmt(v) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)
