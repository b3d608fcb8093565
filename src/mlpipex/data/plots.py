"""``mlpipex plots diff``: the pipeline's plots files at several git revisions, drawn over each
other on one self-contained HTML page (inline SVG, as the monitoring report; nothing loaded).

Plots are the stages' ``plots:`` outputs and the pipeline's top-level ``plots:`` entries, each a
path or ``{path: {x: column, y: column or [columns]}}``. A file is CSV, TSV, JSON (a list of
rows, or a mapping holding one) or YAML; without ``x`` the row number is the x axis, without
``y`` every numeric column but x is drawn.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import dataclass
from typing import Any

from mlpipex.data.metrics import Revision
from mlpipex.data.pipeline import PIPELINE
from mlpipex.domain.pointer import clip, load_yaml
from mlpipex.errors import Invalid
from mlpipex.monitor import svg
from mlpipex.monitor.report import CSS, PALETTE

Rows = list[dict[str, Any]]
MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class PlotSpec:
    path: str
    x: str | None = None
    y: tuple[str, ...] = ()


def specs(revision: Revision) -> list[PlotSpec]:
    """The plots the revision's pipeline declares (stage outputs and top-level entries)."""
    found: dict[str, PlotSpec] = {}
    for name in (PIPELINE, "dvc.yaml"):
        text = revision.read(name)
        if text is None:
            continue
        data = load_yaml(text, name) or {}
        entries = list(data.get("plots") or []) if isinstance(data, dict) else []
        for st in (data.get("stages") or {}).values() if isinstance(data, dict) else []:
            entries += list(st.get("plots") or []) if isinstance(st, dict) else []
        for entry in entries:
            spec = _spec(entry, name)
            found.setdefault(spec.path, spec)
        break
    return list(found.values())


def _spec(entry: Any, filename: str) -> PlotSpec:
    if isinstance(entry, str):
        return PlotSpec(entry)
    if isinstance(entry, dict) and len(entry) == 1:
        path, props = next(iter(entry.items()))
        props = props if isinstance(props, dict) else {}
        y = props.get("y")
        ys = (y,) if isinstance(y, str) else tuple(str(v) for v in y or [] if isinstance(y, list))
        x = props.get("x")
        return PlotSpec(str(path), str(x) if isinstance(x, str) else None, ys)
    raise Invalid(f"{filename}: plots entry {clip(entry)} is not a path or {{path: {{x, y}}}}")


def read_rows(text: str, path: str) -> Rows:
    """The rows of a plots file, by its extension."""
    if path.endswith((".csv", ".tsv")):
        rows: Rows = list(
            csv.DictReader(io.StringIO(text), delimiter="\t" if path.endswith(".tsv") else ",")
        )
    else:
        data = json.loads(text) if path.endswith(".json") else load_yaml(text, path)
        if isinstance(data, dict):  # {"train": [...]}: DVC takes the (first) list it holds
            data = next((v for v in data.values() if isinstance(v, list)), [])
        rows = [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
    return rows[:MAX_ROWS]


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def collect(revisions: list[Revision]) -> dict[str, dict[str, Rows]]:
    """Per plots file, its rows at each revision (by label) that has it."""
    out: dict[str, dict[str, Rows]] = {}
    for rev in revisions:
        for spec in specs(rev):
            text = rev.data(spec.path)
            if text is not None:
                out.setdefault(spec.path, {})[rev.label] = read_rows(text, spec.path)
    return out


def render(revisions: list[Revision]) -> str:
    """One HTML page: for each plots file and y column, a line per revision."""
    specs_by_path = {s.path: s for rev in revisions for s in specs(rev)}
    data = collect(revisions)
    colors = {rev.label: PALETTE[i % len(PALETTE)] for i, rev in enumerate(revisions)}
    body = [f"<h1>Plots: {html.escape(' vs '.join(r.label for r in revisions))}</h1>"]
    for path, by_rev in data.items():
        spec = specs_by_path[path]
        body.append(f"<h2>{html.escape(path)}</h2>")
        for y in spec.y or _numeric_columns(by_rev, spec.x):
            series = [
                svg.Series(label, colors[label], _points(rows, spec.x, y))
                for label, rows in by_rev.items()
            ]
            body.append(svg.lines(series, title=y, unit="", x_labels=(spec.x or "step", "")))
    if len(body) == 1:
        body.append("<p>No plots files were found at these revisions.</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>plots</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _points(rows: Rows, x: str | None, y: str) -> list[tuple[float, float | None]]:
    out: list[tuple[float, float | None]] = []
    for i, r in enumerate(rows):
        at = _number(r.get(x)) if x else float(i)
        if at is not None:
            out.append((at, _number(r.get(y))))
    return out


def _numeric_columns(by_rev: dict[str, Rows], x: str | None) -> list[str]:
    cols: dict[str, None] = {}
    for rows in by_rev.values():
        for r in rows[:1]:
            cols.update((k, None) for k, v in r.items() if k != x and _number(v) is not None)
    return list(cols)
