"""Small inline SVG charts for the monitoring report (overlaid histograms, line charts), written
by hand so the report needs no plotting library and loads nothing from anywhere."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 26, 30
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
REFERENCE_COLOR, CURRENT_COLOR = "#4c78a8", "#f58518"
AXIS = "#888"


def number(value: float) -> str:
    return f"{value:.4g}"


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{html.escape(text)}</text>'


def _frame(title: str, y_top: str, y_bottom: str, x_ticks: Sequence[tuple[float, str]]) -> str:
    """Title, axes and tick labels; x tick positions are fractions of the plot width."""
    bottom = TOP + PLOT_H
    parts = [
        _text(LEFT, 16, title, "start", ' font-weight="bold"'),
        f'<path d="M{LEFT} {TOP}V{bottom}H{LEFT + PLOT_W}" stroke="{AXIS}" fill="none"/>',
        _text(LEFT - 4, TOP + 4, y_top, "end"),
        _text(LEFT - 4, bottom, y_bottom, "end"),
    ]
    for pos, label in x_ticks:
        anchor = "start" if pos <= 0 else "end" if pos >= 1 else "middle"
        parts.append(_text(LEFT + pos * PLOT_W, bottom + 16, label, anchor))
    return "".join(parts)


def _svg(body: str, label: str) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{html.escape(label)}" '
        f'font-family="sans-serif" font-size="11">{body}</svg>'
    )


def _legend(items: Sequence[tuple[str, str, bool]]) -> str:
    """Legend entries (label, color, dashed), right-aligned on the title line."""
    parts, x = [], WIDTH - RIGHT
    for label, color, dashed in reversed(items):
        x -= 7 * len(label) + 24
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        parts.append(
            f'<path d="M{x} 12h14" stroke="{color}" stroke-width="3"{dash}/>'
            + _text(x + 18, 16, label, "start")
        )
    return "".join(parts)


def histogram(
    reference: Sequence[float],
    current: Sequence[float] | None,
    bin_labels: Sequence[str],
    *,
    title: str,
    x_ticks: Sequence[tuple[float, str]],
) -> str:
    """Reference and current shares per bin, as overlaid translucent bars."""
    n = len(reference)
    top = max([*reference, *(current or []), 1e-12])
    width = PLOT_W / max(n, 1)
    bar = max(width - 1, 0.5)
    bars = []
    for i, label in enumerate(bin_labels):
        x = LEFT + i * width
        tip = f"{label}: reference {reference[i]:.1%}"
        if current is not None:
            tip += f", current {current[i]:.1%}"
        for shares, color in ((reference, REFERENCE_COLOR), (current, CURRENT_COLOR)):
            if shares is None:
                continue
            h = shares[i] / top * PLOT_H
            bars.append(
                f'<rect x="{x + 0.5:.1f}" y="{TOP + PLOT_H - h:.1f}" width="{bar:.1f}"'
                f' height="{h:.1f}" fill="{color}" fill-opacity="0.55">'
                f"<title>{html.escape(tip)}</title></rect>"
            )
    legend = [("reference", REFERENCE_COLOR, False)]
    if current is not None:
        legend.append(("current", CURRENT_COLOR, False))
    body = _frame(title, f"{top:.0%}", "0", x_ticks) + "".join(bars) + _legend(legend)
    return _svg(body, title)


@dataclass(frozen=True)
class Series:
    """One line: (x, y) points in x order; a None y breaks the line."""

    label: str
    color: str
    points: Sequence[tuple[float, float | None]]
    dashed: bool = False


def lines(
    series: Sequence[Series], *, title: str, unit: str, x_labels: tuple[str, str] | None
) -> str:
    """A line chart from zero up; ``x_labels`` name the first and the last x."""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points if y is not None]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    span = (x1 - x0) or 1.0
    top = max(ys, default=0.0) * 1.1 or 1.0

    def at(x: float, y: float) -> str:
        return f"{LEFT + (x - x0) / span * PLOT_W:.1f} {TOP + PLOT_H - y / top * PLOT_H:.1f}"

    paths = []
    for s in series:
        d, pen_down = [], False
        for x, y in s.points:
            if y is None:
                pen_down = False
                continue
            # Each segment starts with a zero-length line so that a lone point shows as a dot.
            d.append("L" + at(x, y) if pen_down else f"M{at(x, y)}L{at(x, y)}")
            pen_down = True
        dash = ' stroke-dasharray="4 3"' if s.dashed else ""
        paths.append(
            f'<path d="{"".join(d)}" stroke="{s.color}" stroke-width="2" fill="none"'
            f' stroke-linecap="round"{dash}><title>{html.escape(s.label)}</title></path>'
        )
    ticks = [(0.0, x_labels[0]), (1.0, x_labels[1])] if x_labels else []
    frame = _frame(title, f"{number(top)} {unit}".strip(), "0", ticks)
    legend = _legend([(s.label, s.color, s.dashed) for s in series])
    return _svg(frame + "".join(paths) + legend, title)
