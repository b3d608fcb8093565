"""Inline SVG line charts, drawn on the server: no chart library to ship, nothing for the
browser to run, and the page reads the same with JavaScript off. Text is escaped here, and the
result is marked safe for the templates."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

WIDTH, HEIGHT = 520, 180
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 24, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
PALETTE = ("#2f6fb0", "#e07b1a", "#3a9a5b", "#c0392b", "#8e5cb8", "#7f6a4a", "#d35fa0", "#555")


@dataclass(frozen=True)
class Line:
    label: str
    points: Sequence[tuple[float, float]]  # (x, y), in x order


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _text(x: float, y: float, text: str, anchor: str = "middle", bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{weight}>{html.escape(text)}</text>'
    )


def line_chart(
    lines: Sequence[Line], *, title: str, x_label: str, from_zero: bool = False
) -> Markup:
    """Lines over a shared x axis; y spans the values (from zero when ``from_zero``)."""
    xs = [x for ln in lines for x, _ in ln.points]
    ys = [y for ln in lines for _, y in ln.points if y == y]  # NaN left out
    if not xs or not ys:
        return Markup('<p class="muted">No values.</p>')
    x0, x1 = min(xs), max(xs)
    y0, y1 = (0.0 if from_zero else min(ys)), max(ys)
    if y1 == y0:
        y0, y1 = y0 - (abs(y0) or 1) * 0.05, y1 + (abs(y1) or 1) * 0.05
    xspan, yspan = (x1 - x0) or 1.0, y1 - y0

    def at(x: float, y: float) -> str:
        px, py = LEFT + (x - x0) / xspan * PLOT_W, TOP + PLOT_H - (y - y0) / yspan * PLOT_H
        return f"{px:.1f},{py:.1f}"

    bottom = TOP + PLOT_H
    parts = [
        _text(LEFT, 14, title, "start", bold=True),
        f'<path d="M{LEFT} {TOP}V{bottom}H{LEFT + PLOT_W}" stroke="#999" fill="none"/>',
        _text(LEFT - 5, TOP + 4, _fmt(y1), "end"),
        _text(LEFT - 5, bottom, _fmt(y0), "end"),
        _text(LEFT, bottom + 16, _fmt(x0), "start"),
        _text(LEFT + PLOT_W / 2, bottom + 16, x_label),
        _text(LEFT + PLOT_W, bottom + 16, _fmt(x1), "end"),
    ]
    for i, ln in enumerate(lines):
        pts = [(x, y) for x, y in ln.points if y == y]
        if not pts:
            continue
        tip = html.escape(f"{ln.label}: last {_fmt(pts[-1][1])}")
        if len(pts) == 1:
            cx, cy = at(*pts[0]).split(",")
            parts.append(
                f'<circle cx="{cx}" cy="{cy}" r="3" fill="{color(i)}"><title>{tip}</title></circle>'
            )
            continue
        parts.append(
            f'<polyline points="{" ".join(at(x, y) for x, y in pts)}" fill="none" '
            f'stroke="{color(i)}" stroke-width="2"><title>{tip}</title></polyline>'
        )
    if len(lines) > 1:
        x = WIDTH - RIGHT
        for i, ln in reversed(list(enumerate(lines))):
            x -= 7 * len(ln.label) + 22
            parts.append(
                f'<path d="M{x} 10h14" stroke="{color(i)}" stroke-width="3"/>'
                + _text(x + 17, 14, ln.label, "start")
            )
    body = "".join(parts)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{html.escape(title)}" font-family="sans-serif" '
        f'font-size="11">{body}</svg>'
    )
