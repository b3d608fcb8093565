"""Rendering registry values for people (rich) and for scripts (--json)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from mlpipex.domain.models import Event, ModelVersion, RegisteredModel

if TYPE_CHECKING:
    from rich.tree import Tree

    from mlpipex.service.registry.lineage import Lineage


def when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def to_json(value: Any) -> str:
    def default(o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return dataclasses.asdict(o)
        raise TypeError(type(o).__name__)

    return json.dumps(value, default=default, indent=2, sort_keys=True)


def metrics_text(m: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in sorted(m.items()))


class Columns:
    """Plain aligned columns, as kubectl prints them: cheap to render, easy to grep and cut."""

    def __init__(self, *headers: str) -> None:
        self.rows: list[tuple[str, ...]] = [tuple(h.upper() for h in headers)]

    def add_row(self, *cells: str) -> None:
        self.rows.append(tuple(cells))

    def __str__(self) -> str:
        widths = [max(len(r[i]) for r in self.rows) for i in range(len(self.rows[0]))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in self.rows
        )


def models_table(items: list[RegisteredModel], stages: dict[str, dict[str, list[int]]]) -> Columns:
    t = Columns("model", "latest", "stages", "aliases", "updated")
    for m in items:
        st = "  ".join(f"{s}: {','.join(map(str, v))}" for s, v in stages.get(m.name, {}).items())
        al = ", ".join(f"@{a}={v}" for a, v in sorted(m.aliases.items()))
        t.add_row(m.name, str(m.last_version or "-"), st or "-", al or "-", when(m.updated_at))
    return t


def versions_table(items: list[ModelVersion]) -> Columns:
    t = Columns("version", "stage", "aliases", "metrics", "commit", "datasets", "by", "registered")
    for v in items:
        t.add_row(
            str(v.version),
            v.stage,
            ", ".join("@" + a for a in v.aliases) or "-",
            metrics_text(v.metrics) or "-",
            _commit(v),
            ", ".join(d.name for d in v.datasets) or "-",
            v.created_by,
            when(v.created_at),
        )
    return t


def _commit(v: ModelVersion) -> str:
    if not v.commit:
        return "-"
    return v.commit[:10] + (" (dirty)" if v.commit_dirty else "")


def version_detail(v: ModelVersion) -> str:
    rows = [
        ("version", f"{v.model}/{v.version}"),
        ("stage", v.stage),
        ("aliases", ", ".join("@" + a for a in v.aliases) or "-"),
        ("commit", _commit(v)),
        ("run", v.run_id or "-"),
        ("flavor", f"{v.flavor or '-'}" + (f" ({v.framework})" if v.framework else "")),
        ("artifact", f"{v.artifact_digest} ({v.artifact_size:,} bytes, {len(v.files)} files)"),
        ("metrics", metrics_text(v.metrics) or "-"),
        ("registered", f"{when(v.created_at)} by {v.created_by}"),
    ]
    rows += [(f"dataset {d.name}", f"{d.digest} {d.uri}") for d in v.datasets]
    rows += [(f"tag {k}", val) for k, val in sorted(v.tags.items())]
    if v.description:
        rows.append(("description", v.description))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {val}" for k, val in rows)


def lineage_tree(lin: Lineage) -> Tree:
    from rich.tree import Tree  # only `lineage` draws one: rich costs `show` 15 ms otherwise

    v = lin.version
    root = Tree(f"[bold]{v.model}/{v.version}[/]  stage {v.stage}")
    data = root.add("datasets")
    for d in lin.datasets:
        stage = f"  <- stage {d.stage}" if d.stage else ""
        data.add(f"{d.name}  {d.digest[:23]}…  {d.uri}{stage}")
    if not lin.datasets:
        data.add("(none)")
    if lin.run:
        run = root.add(f"run {lin.run['id']}")
        for k, val in lin.run.items():
            if k != "id" and val:
                run.add(f"{k}: {val}")
    root.add(f"version {v.version}  commit {_commit(v)}  metrics {metrics_text(v.metrics) or '-'}")
    hist = root.add("stage history")
    for c in lin.stages:
        hist.add(
            f"{when(c.time)}  {c.from_stage} -> {c.to_stage}  by {c.actor}"
            + (f"  ({c.reason})" if c.reason else "")
        )
    if not lin.stages:
        hist.add("(none)")
    deps = root.add("deployments")
    for dep in lin.deployments:
        arrow = (
            f"v{dep['from_version']} -> v{dep['to_version']}"
            if dep["from_version"]
            else (f"v{dep['to_version']}")
        )
        deps.add(
            f"{when(dep['started_at'])}  {dep['endpoint']}: {arrow} {dep['strategy']} "
            f"{dep['state']}" + (f"  ({dep['reason']})" if dep["reason"] else "")
        )
    if not lin.deployments:
        deps.add("(none)")
    return root


def events_table(items: list[Event]) -> Columns:
    t = Columns("seq", "time", "actor", "event", "model", "reason")
    for e in items:
        target = e.model + (f"/{e.version}" if e.version is not None else "") if e.model else "-"
        t.add_row(str(e.seq), when(e.time), e.actor, e.kind, target, e.reason or _summary(e))
    return t


def _summary(e: Event) -> str:
    p = e.payload
    if "from" in p and "to" in p:
        return f"{p['from']} -> {p['to']}"
    if "alias" in p:
        return f"@{p['alias']}"
    if "key" in p:
        return f"{p['key']}={p.get('value', '')}"
    return ""
