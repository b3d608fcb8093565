"""The monitoring report of one endpoint: a single self-contained HTML file (inline CSS and
inline SVG charts, nothing fetched) with, per model version, the drift table and reference
against current distributions per feature, live quality from feedback beside the registered
metrics, and request rate, error rate and latency over time."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlpipex.errors import Invalid
from mlpipex.monitor import bins, svg, window
from mlpipex.monitor.drift import DriftResult, FeatureDrift

if TYPE_CHECKING:
    from mlpipex.monitor.quality import QualityReport

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d")
# Category names under the bars only while they fit; past that they are in the tooltips.
MAX_CATEGORY_LABELS = 12

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{padding:.25em .6em;text-align:left;
border-bottom:1px solid #eee}th{background:#f6f6f6}td.num{text-align:right;
font-variant-numeric:tabular-nums}.drifted{color:#b00020;font-weight:bold}.ok{color:#2e7d32}
.none{color:#777}.features{display:flex;flex-wrap:wrap;gap:1em}
.feature{border:1px solid #eee;padding:.5em}.muted{color:#777}
"""


@dataclass(frozen=True)
class VersionInfo:
    """A model version the endpoint serves, as the report's header shows it."""

    version: int
    model: str = ""
    stage: str | None = None
    aliases: tuple[str, ...] = ()
    traffic_percent: float | None = None


@dataclass(frozen=True)
class TimePoint:
    """One version's traffic in one interval; ``time`` is the interval's start (a datetime, an
    ISO 8601 string or POSIX seconds)."""

    time: dt.datetime | str | float
    version: int
    requests: int
    errors: int
    p50_ms: float | None = None
    p99_ms: float | None = None

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> TimePoint:
        try:
            return cls(
                time=row["time"],
                version=int(row["version"]),
                requests=int(row["requests"]),
                errors=int(row["errors"]),
                p50_ms=None if row.get("p50_ms") is None else float(row["p50_ms"]),
                p99_ms=None if row.get("p99_ms") is None else float(row["p99_ms"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise Invalid(f"time series row {dict(row)!r} is incomplete or malformed") from e

    @property
    def seconds(self) -> float:
        t = self.time
        try:
            if isinstance(t, str):
                t = dt.datetime.fromisoformat(t)
            if isinstance(t, dt.datetime):
                # A naive time is taken as UTC, which is what the agent reports in.
                return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()
            return float(t)
        except (TypeError, ValueError) as e:
            raise Invalid(f"time series time {self.time!r} is not a time") from e


def render_report(
    *,
    endpoint: str,
    versions: Sequence[VersionInfo],
    drift: Mapping[int, DriftResult],
    profiles: Mapping[int, Mapping[str, Any]],
    current: Mapping[int, Any],
    timeseries: Sequence[TimePoint | Mapping[str, Any]],
    generated: dt.datetime | None = None,
    quality: QualityReport | None = None,
) -> str:
    """The report as one HTML document. ``drift``, ``profiles`` and ``current`` (the window of
    inputs the drift was computed on: a DataFrame, a 2-D array or records) are keyed by
    version number; a version missing from one of them shows what the others allow."""
    points = [p if isinstance(p, TimePoint) else TimePoint.from_dict(p) for p in timeseries]
    when = (generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    colors = {v.version: PALETTE[i % len(PALETTE)] for i, v in enumerate(versions)}
    body = [
        f"<h1>Monitoring report: {_e(endpoint)}</h1>",
        f'<p class="muted">Generated {_e(when)}</p>',
        _summary(versions, drift),
        "<h2>Traffic</h2>",
        _traffic(points, colors),
        _quality(quality),
        *(_version(v, drift.get(v.version), profiles, current) for v in versions),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(endpoint)} monitoring report</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _quality(report: QualityReport | None) -> str:
    """Live quality per version (95% intervals) beside the registered values."""
    rows = [
        f'<tr><td>{v.version}</td><td class="num">{v.labelled}</td><td>{_e(name)}</td>'
        f'<td class="num">{m.value:.4g}</td><td class="num">{m.ci_low:.4g} to {m.ci_high:.4g}</td>'
        f'<td class="num">{_fmt(m.registered)}</td></tr>'
        for v in (report.versions if report else ())
        for name, m in v.metrics.items()
    ]
    if not rows:
        return '<h2>Live quality</h2><p class="muted">No labelled predictions in the window.</p>'
    return (
        "<h2>Live quality</h2><table><tr><th>version</th><th>labelled</th><th>metric</th>"
        "<th>live</th><th>95% interval</th><th>registered</th></tr>" + "".join(rows) + "</table>"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _verdict(drifted: bool | None) -> str:
    if drifted is None:
        return '<span class="none">no verdict</span>'
    return '<span class="drifted">drifted</span>' if drifted else '<span class="ok">ok</span>'


def _fmt(value: float | None, spec: str = ".4g") -> str:
    return "" if value is None else format(value, spec)


def _summary(versions: Sequence[VersionInfo], drift: Mapping[int, DriftResult]) -> str:
    rows = []
    for v in versions:
        d = drift.get(v.version)
        rows.append(
            f'<tr><td><a href="#v{v.version}">{v.version}</a></td><td>{_e(v.model)}</td>'
            f"<td>{_e(v.stage or '')}</td><td>{_e(', '.join(v.aliases))}</td>"
            f'<td class="num">{_fmt(v.traffic_percent, ".4g")}</td>'
            f"<td>{_verdict(d.drifted) if d else ''}</td>"
            f'<td class="num">{_fmt(d.share if d else None, ".0%")}</td>'
            f'<td class="num">{d.window_rows if d else ""}</td></tr>'
        )
    return (
        "<table><tr><th>version</th><th>model</th><th>stage</th><th>aliases</th>"
        "<th>traffic %</th><th>drift</th><th>drifted share</th><th>window rows</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _traffic(points: Sequence[TimePoint], colors: Mapping[int, str]) -> str:
    if not points:
        return '<p class="muted">No traffic recorded.</p>'
    by_version: dict[int, list[TimePoint]] = {}
    for p in sorted(points, key=lambda p: p.seconds):
        by_version.setdefault(p.version, []).append(p)
    times = sorted({p.seconds for p in points})
    # Rows are per interval; the interval is the usual gap between them.
    step = statistics.median(np.diff(times).tolist()) if len(times) > 1 else None
    first, last = (_clock(t) for t in (times[0], times[-1]))

    def color(v: int) -> str:
        return colors.get(v, PALETTE[v % len(PALETTE)])

    def series(label: str, v: int, y: Any, dashed: bool = False) -> svg.Series:
        return svg.Series(
            f"v{v}{label}", color(v), [(p.seconds, y(p)) for p in by_version[v]], dashed
        )

    rate = [
        series("", v, lambda p: p.requests / step if step else float(p.requests))
        for v in by_version
    ]
    errors = [
        series("", v, lambda p: 100 * p.errors / p.requests if p.requests else None)
        for v in by_version
    ]
    latency = [
        s
        for v in by_version
        for s in (
            series(" p50", v, lambda p: p.p50_ms),
            series(" p99", v, lambda p: p.p99_ms, dashed=True),
        )
    ]
    charts = [
        svg.lines(
            rate,
            title="Request rate",
            unit="req/s" if step else "requests",
            x_labels=(first, last),
        ),
        svg.lines(errors, title="Error rate", unit="%", x_labels=(first, last)),
        svg.lines(latency, title="Latency p50 / p99", unit="ms", x_labels=(first, last)),
    ]
    return '<div class="features">' + "".join(charts) + "</div>"


def _clock(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _version(
    v: VersionInfo,
    result: DriftResult | None,
    profiles: Mapping[int, Mapping[str, Any]],
    current: Mapping[int, Any],
) -> str:
    out = [f'<h2 id="v{v.version}">Version {v.version} {_e(v.model)}</h2>']
    if result is None:
        out.append('<p class="muted">No drift computed for this version.</p>')
    else:
        share = "" if result.share is None else f", {result.share:.0%} of features drifted"
        reason = f" ({_e(result.reason)})" if result.reason else ""
        out.append(
            f"<p>Dataset drift: {_verdict(result.drifted)}{share}, "
            f"window of {result.window_rows} rows{reason}.</p>"
        )
        rows = [*result.features, *([result.prediction] if result.prediction else [])]
        out.append(_drift_table(rows))
    profile = profiles.get(v.version)
    if profile is None:
        out.append('<p class="muted">No reference profile for this version.</p>')
    else:
        out.append(_distributions(profile, current.get(v.version)))
    return "<section>" + "".join(out) + "</section>"


def _drift_table(rows: Sequence[FeatureDrift]) -> str:
    cells = []
    for f in rows:
        cells.append(
            f"<tr><td>{_e(f.name)}</td><td>{f.kind}</td><td>{f.test}</td>"
            f'<td class="num">{_fmt(f.score)}</td><td class="num">{_fmt(f.threshold)}</td>'
            f'<td>{_verdict(f.drifted)}</td><td class="num">{_fmt(f.psi, ".3f")}</td>'
            f'<td class="num">{f.n_current}</td>'
            f'<td class="num">{f.missing_share:.1%} / {f.reference_missing_share:.1%}</td>'
            f"<td>{_e(f.reason or '')}</td></tr>"
        )
    return (
        "<table><tr><th>feature</th><th>kind</th><th>test</th><th>score</th><th>threshold</th>"
        "<th>drift</th><th>PSI</th><th>current values</th><th>missing (current / reference)</th>"
        "<th>note</th></tr>" + "".join(cells) + "</table>"
    )


def _distributions(profile: Mapping[str, Any], data: Any) -> str:
    feats = window.features(profile)
    cols = window.columns(feats, data)[1] if data is not None else [None] * len(feats)
    charts = []
    for f, col in zip(feats, cols, strict=True):
        name = str(f["name"])
        binned = _numeric(f, col) if f["kind"] == "numeric" else _categorical(f, col)
        if binned is None:
            chart = f'<p class="muted">{_e(name)}: no reference values</p>'
        else:
            ref, cur, labels, ticks = binned
            shares = None if cur is None else _shares(cur)
            chart = svg.histogram(_shares(ref), shares, labels, title=name, x_ticks=ticks)
        charts.append(f'<div class="feature" data-feature="{_e(name)}">{chart}</div>')
    return '<div class="features">' + "".join(charts) + "</div>"


# (reference counts, current counts or None, a label per bin, x-axis ticks)
_Binned = tuple[np.ndarray, np.ndarray | None, list[str], list[tuple[float, str]]]


def _numeric(feature: Mapping[str, Any], column: window.Column | None) -> _Binned | None:
    if not feature.get("histogram"):
        return None
    edges, ref = bins.reference_numeric(feature)
    cur = None
    if column is not None:
        values = window.numeric(str(feature["name"]), column)
        cur = bins.numeric(values, edges) if values.size else None
    labels = [f"[{svg.number(a)}, {svg.number(b)})" for a, b in itertools.pairwise(edges)]
    return ref, cur, labels, [(0.0, svg.number(edges[0])), (1.0, svg.number(edges[-1]))]


def _categorical(feature: Mapping[str, Any], column: window.Column | None) -> _Binned | None:
    names, ref = bins.reference_categories(feature)
    if not ref.any():
        return None
    cur = None
    if column is not None:
        keys, counts = window.categories(column)
        cur = bins.categorical(keys, counts, names) if counts.sum() else None
    ticks: list[tuple[float, str]] = []
    if len(names) <= MAX_CATEGORY_LABELS:
        ticks = [((i + 0.5) / len(names), n[:10]) for i, n in enumerate(names)]
    return ref, cur, names, ticks


def _shares(counts: np.ndarray) -> list[float]:
    return [float(s) for s in counts / counts.sum()]
