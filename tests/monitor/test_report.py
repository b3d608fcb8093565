"""The HTML report: well-formed, self-contained, escaped, one chart per feature per version."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from mlpipex.domain.profile import profile
from mlpipex.errors import Invalid
from mlpipex.monitor import svg
from mlpipex.monitor.drift import compute_drift
from mlpipex.monitor.report import TimePoint, VersionInfo, render_report

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"}
NASTY = '<script>alert("x")</script> & co'


class Page(HTMLParser):
    """Checks nesting as it parses, and collects what the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.charts: list[list[object]] = []  # [data-feature, svg elements inside it]
        self.depth: int | None = None  # of the open feature <div> in the stack
        self.links: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.current_bars = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]
        if tag == "rect" and a.get("fill") == svg.CURRENT_COLOR:
            self.current_bars += 1
        if tag == "div" and a.get("class") == "feature":
            self.depth = len(self.stack)
            self.charts.append([a["data-feature"], 0])
        if tag == "svg" and self.depth is not None:
            self.charts[-1][1] += 1  # type: ignore[operator]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)  # <path/>: opened and closed at once

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if self.depth is not None and len(self.stack) <= self.depth:
            self.depth = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.stack == [], f"unclosed: {page.stack}"
    return page


@pytest.fixture(scope="module")
def report() -> tuple[str, dict]:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame(
        {
            "amount": rng.normal(10, 2, 3_000),
            NASTY: rng.choice(["a", "<b>", "c&d"], 3_000),
            "empty": np.full(3_000, np.nan),
        }
    )
    cur = ref.iloc[:1_000].assign(amount=lambda d: d["amount"] + 2)
    prof = profile(ref)
    drift = compute_drift(prof, cur)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    series = [
        {"time": start + dt.timedelta(minutes=5 * i), "version": v, "requests": 300 * v,
         "errors": i % 2, "p50_ms": 10.0 + v, "p99_ms": 50.0 + v}
        for i in range(6) for v in (1, 2)
    ]  # fmt: skip
    html = render_report(
        endpoint=NASTY,
        versions=[
            VersionInfo(1, "fraud & co", "Production", ("champion",), 90.0),
            VersionInfo(2, "fraud & co", "Staging", (), 10.0),
        ],
        drift={1: drift, 2: drift},
        profiles={1: prof, 2: prof},
        current={1: cur},  # version 2 has no window: reference only
        timeseries=series,
        generated=start,
    )
    return html, {"drift": drift}


def test_the_report_is_well_formed_and_self_contained(report):
    html, _ = report
    page = parse(html)
    assert html.startswith("<!DOCTYPE html>")
    assert all(link.startswith("#") for link in page.links) and page.links
    assert {"script", "img", "link", "iframe", "object"}.isdisjoint(page.tags)
    assert page.tags.count("style") == 1 and "http" not in html and "url(" not in html


def test_every_feature_of_every_version_has_one_chart(report):
    html, _ = report
    page = parse(html)
    # Per version, in the profile's order; "empty" has a note instead of a chart.
    assert page.charts == [["amount", 1], [NASTY, 1], ["empty", 0]] * 2
    # Three traffic charts, plus one histogram per charted feature per version.
    assert page.tags.count("svg") == 3 + 2 * 2
    # Version 1 overlays its window on 20 numeric and 4 categorical bins; version 2 has none.
    assert page.current_bars == 20 + 4


def test_user_text_is_escaped(report):
    html, _ = report
    assert NASTY not in html and "<b>" not in html and "fraud & co" not in html
    assert html.count("&lt;script&gt;") >= 3  # title, heading, table and chart title
    text = "".join(parse(html).text)
    assert NASTY in text and "fraud & co" in text


def test_the_drift_table_shows_each_feature_and_verdict(report):
    html, ctx = report
    drift = ctx["drift"]
    assert drift.drifted_features == ["amount"]
    text = "".join(parse(html).text)
    assert "wasserstein" in text and "jensenshannon" in text and "drifted" in text
    assert "the reference has no values for this feature" in text


def test_traffic_charts_have_a_line_per_version():
    points = [TimePoint(float(t * 60), v, 120, 6, 9.0, 30.0) for t in range(3) for v in (3, 4)]
    html = render_report(
        endpoint="e",
        versions=[VersionInfo(3), VersionInfo(4)],
        drift={},
        profiles={},
        current={},
        timeseries=points,
    )
    page = parse(html)
    assert page.tags.count("svg") == 3
    assert ">2.2 req/s<" in html  # 120 a minute, and the axis tops out 10% above
    assert html.count("<title>v3 p99</title>") == 1 and html.count("<title>v4</title>") == 2
    assert "No drift computed" in html and "No reference profile" in html


def test_malformed_time_series_rows_are_refused():
    kwargs = {"endpoint": "e", "versions": [], "drift": {}, "profiles": {}, "current": {}}
    with pytest.raises(Invalid, match="incomplete"):
        render_report(**kwargs, timeseries=[{"time": 0, "version": 1}])
    with pytest.raises(Invalid, match="not a time"):
        render_report(
            **kwargs,
            timeseries=[{"time": "yesterday", "version": 1, "requests": 1, "errors": 0}],
        )
