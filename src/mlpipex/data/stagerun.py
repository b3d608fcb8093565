"""Running one pipeline stage for ``mlpipex repro`` (or restoring it from the run cache): kept
apart so that a no-op repro does not import what only a run needs."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from mlpipex.data import runcache, settings
from mlpipex.data.build import build
from mlpipex.data.checkout import materialize
from mlpipex.data.gitignore import ignore
from mlpipex.data.link import choose
from mlpipex.data.pipeline import Stage
from mlpipex.data.progress import Reporter
from mlpipex.data.repro import Notify, StageRun
from mlpipex.data.statcache import StatCache
from mlpipex.data.workspace import Workspace
from mlpipex.domain.pointer import PointerOut
from mlpipex.errors import Invalid


def execute(
    ws: Workspace,
    st: Stage,
    deps: list[PointerOut],
    params: dict[str, dict[str, Any]],
    cache: StatCache,
    reporter: Reporter,
    force: bool,
    reason: str,
    notify: Notify,
) -> tuple[list[PointerOut], str]:
    key = runcache.run_key(st.cmd, deps, params)
    outs = None if force else runcache.lookup(ws, key)
    if outs is not None:
        materialize(ws, [(o.path, o) for o in outs], force=True, reporter=reporter)
        _ignore_outs(ws, st)
        return outs, "restored"
    notify(StageRun(st.name, "running", reason))
    for path in st.all_outs:
        _remove(ws, path)
        cache.forget(path)
    code = subprocess.run(st.cmd, shell=True, cwd=ws.root, check=False).returncode
    if code != 0:
        raise Invalid(
            f"stage {st.name!r} failed: `{st.cmd}` exited with {code}",
            hint="its outputs were not cached and mlpipex.lock was not updated",
        )
    missing = [p for p in st.all_outs if not ws.abs(p).exists()]
    if missing:
        raise Invalid(f"stage {st.name!r} did not produce {', '.join(missing)}")
    mode = choose(ws, settings.load(ws.meta).link)
    outs = [build(ws, p, cache, reporter, store=mode).out(p) for p in st.outs]
    # Metrics and plots stay plain files for git (copied into the cache, never linked or ignored).
    outs += [build(ws, p, cache, reporter, store="copy").out(p) for p in st.metrics + st.plots]
    _ignore_outs(ws, st)
    runcache.save(ws, key, outs)
    return outs, "ran"


def _ignore_outs(ws: Workspace, st: Stage) -> None:
    for path in st.outs:
        ignore(ws, path)


def _remove(ws: Workspace, rel: str) -> None:
    path = ws.dest(rel)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
