"""``mlpipex data status``: what changed in the workspace against the pointers."""

from __future__ import annotations

from dataclasses import dataclass

from mlpipex.data.build import build, load_manifest
from mlpipex.data.progress import SILENT, Reporter
from mlpipex.data.statcache import StatCache
from mlpipex.data.workspace import Tracked, Workspace
from mlpipex.errors import MLPipeXError, NotFound


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # "modified", "new" or "deleted"
    path: str  # relative to the workspace root


def status(
    ws: Workspace, targets: list[str] | None = None, reporter: Reporter = SILENT
) -> list[Change]:
    """Changes of every tracked path (or of targets); unchanged files are not hashed again."""
    cache = StatCache(ws.meta)
    try:
        return [c for t in ws.tracked(targets) for c in _changes(ws, t, cache, reporter)]
    finally:
        cache.close()


def _changes(ws: Workspace, t: Tracked, cache: StatCache, reporter: Reporter) -> list[Change]:
    try:
        built = build(ws, t.path, cache, reporter)
    except NotFound:
        return [Change("deleted", t.path)]
    if built.state.digest == t.out.digest.hex and built.state.isdir == t.out.isdir:
        return []
    if not (t.out.isdir and built.state.isdir):
        return [Change("modified", t.path)]
    try:
        old = {e.path: e.digest for e in load_manifest(ws, t.out.digest.hex).files}
    except MLPipeXError:  # the old manifest is not here: say what we can
        return [Change("modified", t.path)]
    new = built.state.digests
    out = [
        Change("modified", f"{t.path}/{n}") for n in sorted(new) if n in old and old[n] != new[n]
    ]
    out += [Change("new", f"{t.path}/{n}") for n in sorted(new) if n not in old]
    out += [Change("deleted", f"{t.path}/{n}") for n in sorted(old) if n not in new]
    return out
