"""``mlpipex data checkout``: make the workspace match the pointers, from the cache.

Everything is planned and every object verified first: a missing or corrupt object, or a change
that would be lost, stops the checkout before any file is touched.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from mlpipex.data import settings
from mlpipex.data.build import build, load_manifest, scan
from mlpipex.data.link import choose, place
from mlpipex.data.parallel import parallel_map
from mlpipex.data.progress import SILENT, Reporter
from mlpipex.data.statcache import StatCache, TreeState
from mlpipex.data.workspace import Workspace
from mlpipex.domain.pointer import PointerOut
from mlpipex.errors import Conflict, Corrupt, NotFound
from mlpipex.objects.hashing import hash_file


@dataclass
class _Plan:
    rel: str
    out: PointerOut
    wanted: dict[str, tuple[str, int]]  # file (relative to rel, "" for a file out) -> digest, size
    writes: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    replace_whole: bool = False
    dests: list[str] = field(default_factory=list)  # confined paths of writes, in order
    remove_paths: list[str] = field(default_factory=list)

    def confine(self, ws: Workspace) -> None:
        """Resolve every destination now: a link out of the workspace stops the whole checkout
        before any file is touched (Workspace.dest refuses it)."""
        top = ws.dest_str(self.rel)
        self.dests = [ws.dest_str(f"{self.rel}/{n}") if n else top for n in self.writes]
        self.remove_paths = [ws.dest_str(f"{self.rel}/{n}") for n in self.removes]


def checkout(
    ws: Workspace,
    targets: list[str] | None = None,
    *,
    force: bool = False,
    reporter: Reporter = SILENT,
    verified: set[str] | None = None,
) -> list[str]:
    """Restore tracked paths; returns the paths written. verified: objects already checked."""
    return materialize(
        ws,
        [(t.path, t.out) for t in ws.tracked(targets)],
        force=force,
        reporter=reporter,
        verified=verified,
    )


def materialize(
    ws: Workspace,
    outs: list[tuple[str, PointerOut]],
    *,
    force: bool = False,
    reporter: Reporter = SILENT,
    verified: set[str] | None = None,
) -> list[str]:
    """Make each root-relative path hold the content its out names."""
    mode = choose(ws, settings.load(ws.meta).link)
    cache = StatCache(ws.meta)
    try:
        plans = [_plan(ws, rel, out, cache, force) for rel, out in outs]
        for p in plans:
            p.confine(ws)
        lost = (
            [
                f"{p.rel}/{n}".rstrip("/")
                for p in plans
                for n in p.writes + p.removes
                if _would_lose(ws, p, n, cache)
            ]
            if not force
            else []
        )
        if lost:
            raise Conflict(
                f"checkout would overwrite changes that are not cached: {', '.join(lost[:5])}"
                + (f" and {len(lost) - 5} more" if len(lost) > 5 else ""),
                hint="add them with `mlpipex data add`, or use --force",
            )
        _verify(
            ws, {p.wanted[n][0] for p in plans for n in p.writes} - (verified or set()), reporter
        )
        written: list[str] = []
        for p in plans:
            written.extend(_apply(ws, p, mode, cache, reporter))
        return written
    finally:
        cache.close()


def _plan(ws: Workspace, rel: str, out: PointerOut, cache: StatCache, force: bool) -> _Plan:
    if out.isdir:
        files = load_manifest(ws, out.digest.hex).files
        wanted = {e.path: (e.digest, e.size) for e in files}
    else:
        wanted = {"": (out.digest.hex, out.size or 0)}
    plan = _Plan(rel, out, wanted)
    path = ws.dest(rel)  # before reading it: its folders may lead elsewhere
    if not os.path.lexists(path):
        plan.writes = sorted(wanted)
        return plan
    if path.is_dir() != out.isdir:
        plan.replace_whole = True
        plan.writes = sorted(wanted)
        return plan
    built = build(ws, rel, cache)
    if built.state.digest == out.digest.hex:
        return plan
    have = built.state.digests
    plan.writes = sorted(n for n, (d, _) in wanted.items() if have.get(n) != d)
    plan.removes = sorted(n for n in have if n not in wanted)
    return plan


def _would_lose(ws: Workspace, plan: _Plan, name: str, cache: StatCache) -> bool:
    """True when name exists in the workspace with content that is nowhere in the cache."""
    if plan.replace_whole:
        return True
    state = cache.get(plan.rel)
    if state is None or name not in state.digests:
        return False
    return not os.path.exists(ws.object_path(state.digests[name]))


def _verify(ws: Workspace, digests: set[str], reporter: Reporter) -> None:
    missing = sorted(d for d in digests if not os.path.exists(ws.object_path(d)))
    if missing:
        raise NotFound(
            f"{len(missing)} object(s) are not in the cache, e.g. {missing[0]}",
            hint="run `mlpipex data fetch` (or `pull`) to get them from the remote",
        )
    total = sum(os.path.getsize(ws.object_path(d)) for d in digests)
    with reporter.task("verifying cache", total) as advance:
        bad = [
            d
            for d in parallel_map(
                lambda d: (d, hash_file(ws.object_path(d), advance)[0]), sorted(digests), chunk=64
            )
            if d[0] != d[1]
        ]
    if bad:
        raise Corrupt(
            f"{len(bad)} cached object(s) do not match their digest, e.g. {bad[0][0]}; "
            "nothing was overwritten",
            hint="remove them from .mlpipex/cache and run `mlpipex data fetch`",
        )


def _apply(ws: Workspace, p: _Plan, mode: str, cache: StatCache, reporter: Reporter) -> list[str]:
    path = ws.dest(p.rel)
    if p.replace_whole:
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    for r in p.remove_paths:
        os.unlink(r)
    dests = [(d, p.wanted[n][0]) for d, n in zip(p.dests, p.writes, strict=True)]
    with reporter.task(f"checkout {p.rel}", len(dests), unit="files") as advance:

        def one(item: tuple[str, str]) -> None:
            place(ws, item[1], item[0], mode)
            advance(1)

        parallel_map(one, dests, chunk=64)
    if p.out.isdir:
        path.mkdir(parents=True, exist_ok=True)
    _, stats = scan(ws, p.rel)
    if set(stats) == set(p.wanted):
        digests = {n: p.wanted[n][0] for n in stats}
        size = sum(s for _, s in p.wanted.values())
        cache.put(p.rel, TreeState(p.out.digest.hex, p.out.isdir, size, stats, digests))
    return [f"{p.rel}/{n}".rstrip("/") for n in p.writes]
