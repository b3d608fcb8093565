"""``mlpipex repro``: run, in dependency order, the stages whose command, deps or params changed.

A stage that fails leaves its outs uncached and ``mlpipex.lock`` as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlpipex.data.build import build
from mlpipex.data.lock import LockEntry, read_lock, write_lock
from mlpipex.data.pipeline import Pipeline, Stage, load_pipeline, read_params
from mlpipex.data.progress import SILENT, Reporter
from mlpipex.data.statcache import StatCache
from mlpipex.data.workspace import Workspace
from mlpipex.domain.pointer import PointerOut
from mlpipex.errors import NotFound


@dataclass(frozen=True, slots=True)
class StageRun:
    name: str
    action: str  # "unchanged", "running", "ran", "restored" (from the run cache), "would run"
    reason: str = ""


Notify = Callable[[StageRun], None]


def _quiet(run: StageRun) -> None:
    pass


def repro(
    ws: Workspace,
    target: str | None = None,
    *,
    dry: bool = False,
    force: bool = False,
    reporter: Reporter = SILENT,
    notify: Notify = _quiet,
) -> list[StageRun]:
    pipeline = load_pipeline(ws.root)
    if not dry:
        ws.ensure_meta()
    stages = pipeline.order(target)
    lock = read_lock(ws.root)
    order = [s.name for s in pipeline.order()]
    cache = StatCache(ws.meta)
    loaded: dict[str, Any] = {}
    pending: set[str] = set()
    results: list[StageRun] = []
    try:
        for st in stages:
            params = read_params(ws.root, st.params, loaded)
            dirty_up = [u for u in pipeline.upstream(st.name) if u in pending]
            deps = _deps(ws, st, cache, reporter, pipeline, pending)
            reason = "forced" if force else _why(ws, st, lock.get(st.name), deps, params, cache)
            if reason is None and dirty_up:
                reason = f"upstream {dirty_up[0]} changed"
            if reason is None:
                results.append(StageRun(st.name, "unchanged"))
                notify(results[-1])
                continue
            if dry:
                pending.add(st.name)
                results.append(StageRun(st.name, "would run", reason))
                notify(results[-1])
                continue
            from mlpipex.data.stagerun import execute  # a no-op repro never imports it

            outs, action = execute(ws, st, deps, params, cache, reporter, force, reason, notify)
            lock[st.name] = LockEntry(st.cmd, tuple(deps), params, tuple(outs))
            write_lock(ws.root, lock, order)
            results.append(StageRun(st.name, action, reason))
            notify(results[-1])
    finally:
        cache.close()
    return results


def _deps(
    ws: Workspace,
    st: Stage,
    cache: StatCache,
    reporter: Reporter,
    pipeline: Pipeline,
    pending: set[str],
) -> list[PointerOut]:
    deps = []
    for d in st.deps:
        if not ws.abs(d).exists():
            if pipeline.producer(d) in pending:  # a dry run: an upstream stage would make it
                continue
            raise NotFound(f"stage {st.name!r}: dependency {d} does not exist")
        deps.append(build(ws, d, cache, reporter).out(d))
    return deps


def _why(
    ws: Workspace,
    st: Stage,
    entry: LockEntry | None,
    deps: list[PointerOut],
    params: dict[str, dict[str, Any]],
    cache: StatCache,
) -> str | None:
    """Why the stage must run, or None when its last run still holds."""
    if entry is None:
        return "never run"
    if entry.cmd != st.cmd:
        return "command changed"
    before = {d.path: d.digest for d in entry.deps}
    now = {d.path: d.digest for d in deps}
    for path, digest in now.items():
        if before.get(path) != digest:
            return f"{path} changed"
    if set(before) != set(now):
        return "dependencies changed"
    for file, values in params.items():
        for key, value in values.items():
            if entry.params.get(file, {}).get(key, object()) != value:
                return f"param {key} changed"
    recorded = {o.path: o for o in entry.outs}
    for path in st.all_outs:
        if path not in recorded:
            return f"output {path} is new"
        if not ws.abs(path).exists():
            return f"output {path} is missing"
        if build(ws, path, cache).state.digest != recorded[path].digest.hex:
            return f"output {path} changed"
    return None
