"""Server-rendered SVG charts (no JavaScript, no CDN): a line chart with an optional target line, and bars.
Each chart shows its title; the y axis runs from 0 to a round number (1, 2 or 5 times a power of ten), so its
top label reads as a scale, not as a measured value."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

W, H, PAD_L, PAD_B, PAD_T, PAD_R = 420, 176, 62, 24, 28, 10


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2g}"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k at or above VALUE (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value * (1 - 1e-9))


def _head(title: str) -> list[str]:
    return [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" class="chart">',
            f'<title>{escape(title)}</title>',
            f'<text x="4" y="15" class="chart-title">{escape(title)}</text>',
            f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}" class="axis"/>']


def line_chart(title: str, labels: Sequence[str], values: Sequence[float | None], *, target: float | None = None,
               unit: str = "") -> str:
    """A line over LABELS (days); gaps where a value is None; TARGET as a dashed line."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    top = nice_ceiling(max([v for _, v in points] + ([target] if target is not None else []) + [0.0]))
    n = max(1, len(labels) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return PAD_L + (W - PAD_L - PAD_R) * i / n, PAD_T + (H - PAD_T - PAD_B) * (1 - v / top)

    parts = [*_head(title),
             f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{W - PAD_R}" y2="{PAD_T}" class="grid"/>',
             f'<text x="{PAD_L - 4}" y="{PAD_T + 4}" class="tick" text-anchor="end">{_fmt(top)}{escape(unit)}</text>',
             f'<text x="{PAD_L - 4}" y="{H - PAD_B}" class="tick" text-anchor="end">0</text>']
    if labels:
        parts.append(f'<text x="{PAD_L}" y="{H - 6}" class="tick">{escape(labels[0])}</text>')
        parts.append(f'<text x="{W - PAD_R}" y="{H - 6}" class="tick" text-anchor="end">{escape(labels[-1])}</text>')
    if target is not None:
        _, ty = xy(0, target)
        parts.append(f'<line x1="{PAD_L}" y1="{ty:.1f}" x2="{W - PAD_R}" y2="{ty:.1f}" class="target"/>')
        parts.append(f'<text x="{W - PAD_R}" y="{ty - 3:.1f}" class="tick" text-anchor="end">target '
                     f'{_fmt(target)}{escape(unit)}</text>')
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in points))
        parts.append(f'<polyline points="{path}" class="series"/>')
        for i, v in points:
            x, y = xy(i, v)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" class="dot"><title>{escape(labels[i])}: '
                         f'{_fmt(v)}{escape(unit)}</title></circle>')
    else:
        parts.append(f'<text x="{W / 2}" y="{H / 2}" class="tick" text-anchor="middle">no data yet</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, labels: Sequence[str], counts: Sequence[int]) -> str:
    top = nice_ceiling(max(list(counts) + [1]))
    width = (W - PAD_L - PAD_R) / max(1, len(counts))
    parts = [*_head(title),
             f'<text x="{PAD_L - 4}" y="{PAD_T + 4}" class="tick" text-anchor="end">{_fmt(top)}</text>',
             f'<text x="{PAD_L - 4}" y="{H - PAD_B}" class="tick" text-anchor="end">0</text>']
    for i, (label, c) in enumerate(zip(labels, counts, strict=True)):
        h = (H - PAD_T - PAD_B) * c / top
        x = PAD_L + i * width
        parts.append(f'<rect x="{x + 1:.1f}" y="{H - PAD_B - h:.1f}" width="{width - 2:.1f}" height="{h:.1f}" '
                     f'class="bar"><title>{escape(label)}: {c}</title></rect>')
        if i % 2 == 0:
            parts.append(f'<text x="{x + width / 2:.1f}" y="{H - 8}" class="tick" text-anchor="middle">'
                         f'{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
