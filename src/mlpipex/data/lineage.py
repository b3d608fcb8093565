"""What lineage needs from data: which pipeline stage produced a path, per ``mlpipex.lock``."""

from __future__ import annotations

import os
from pathlib import Path

from mlpipex.domain.pointer import LOCKFILE, parse_lock_outs


def stage_producing(
    workspace_root: str | os.PathLike[str], path: str | os.PathLike[str]
) -> str | None:
    """The stage whose recorded outs are path or contain it; None when no stage made it.

    path is absolute or relative to the workspace root.
    """
    root = Path(workspace_root).resolve()
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(root)
        except ValueError:
            return None
    rel = p.as_posix().removesuffix("/")
    try:
        text = (root / LOCKFILE).read_text()
    except FileNotFoundError:
        return None
    for stage, outs in parse_lock_outs(text).items():
        for out in outs:
            if rel == out.path or rel.startswith(out.path + "/"):
                return stage
    return None
