"""``mlpipex data add``: cache a file or directory and write its ``.mpx`` pointer for git."""

from __future__ import annotations

from dataclasses import dataclass

from mlpipex.data import settings
from mlpipex.data.build import build
from mlpipex.data.gitignore import ignore
from mlpipex.data.link import choose
from mlpipex.data.progress import SILENT, Reporter
from mlpipex.data.statcache import StatCache
from mlpipex.data.workspace import Workspace
from mlpipex.domain.pointer import SUFFIX, PointerOut
from mlpipex.errors import Invalid


@dataclass(frozen=True, slots=True)
class Added:
    pointer: str
    out: PointerOut


def add(ws: Workspace, targets: list[str], reporter: Reporter = SILENT) -> list[Added]:
    """Track each target: hash it (skipping what the stat cache knows), cache it, write PATH.mpx."""
    ws.ensure_meta()
    conf = settings.load(ws.meta)
    mode = choose(ws, conf.link)
    rels = [_target(ws, t) for t in targets]
    tracked = {t.path for t in ws.tracked()}
    cache = StatCache(ws.meta)
    done = []
    try:
        for rel in rels:
            inside = [p for p in tracked if rel.startswith(p + "/") or p.startswith(rel + "/")]
            if inside:
                raise Invalid(
                    f"{rel} overlaps the tracked {inside[0]}",
                    hint="track the whole folder, or untrack it first",
                )
            built = build(ws, rel, cache, reporter, store=mode, jobs=conf.jobs)
            out = built.out(rel.rpartition("/")[2])
            ws.write_pointer(rel + SUFFIX, [out])
            ignore(ws, rel)
            done.append(Added(rel + SUFFIX, out))
    finally:
        cache.close()
    return done


def _target(ws: Workspace, target: str) -> str:
    rel = ws.rel(target)
    if rel in ("", "."):
        raise Invalid("cannot track the whole workspace", hint="add a file or folder inside it")
    if rel.endswith(SUFFIX) or rel.rpartition("/")[2] == ".gitignore":
        raise Invalid(f"{rel} is a file git should keep; add the data it points to instead")
    ws.dest(rel + SUFFIX)  # refused before hashing: the pointer could not be written there
    return rel
