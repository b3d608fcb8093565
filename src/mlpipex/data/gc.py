"""``mlpipex data gc``: remove cached objects that no pointer references.

Kept: what the pointers and ``mlpipex.lock`` of the working tree reference and, with
``all_commits``, what those files reference in any commit of the git repository.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from dataclasses import dataclass

from mlpipex.data.build import load_manifest
from mlpipex.data.git import files_in_history
from mlpipex.data.workspace import Workspace
from mlpipex.domain.pointer import LOCKFILE, SUFFIX, PointerOut, read_reference
from mlpipex.errors import MLPipeXError


@dataclass(frozen=True, slots=True)
class Collected:
    removed: int
    freed: int
    kept: int


def referenced(ws: Workspace, all_commits: bool = False) -> set[str]:
    """Every object digest (manifests and their files) the pointers reference."""
    outs: list[PointerOut] = [t.out for t in ws.tracked()]
    lock = ws.root / LOCKFILE
    if lock.exists():
        outs += read_reference(lock.read_text(), LOCKFILE)
    if all_commits:

        def wanted(path: str) -> bool:
            return path.endswith(SUFFIX) or posixpath.basename(path) == LOCKFILE

        for path, text in files_in_history(ws.root, wanted):
            with contextlib.suppress(MLPipeXError):  # an old, broken pointer keeps nothing
                outs += read_reference(text, path)
    keep: set[str] = set()
    for out in outs:
        if out.digest.algo != "blake3" or out.digest.hex in keep:
            continue
        keep.add(out.digest.hex)
        if out.isdir:
            with contextlib.suppress(MLPipeXError):  # a manifest gone already cannot keep files
                keep.update(e.digest for e in load_manifest(ws, out.digest.hex).files)
    return keep


def gc(ws: Workspace, *, all_commits: bool = False, dry: bool = False) -> Collected:
    keep = referenced(ws, all_commits)
    removed = freed = kept = 0
    for digest in list(ws.cache.iter_digests()):
        if digest in keep:
            kept += 1
            continue
        path = ws.object_dest(digest)
        with contextlib.suppress(FileNotFoundError):
            size = os.path.getsize(path)
            if not dry:
                os.unlink(path)
            removed += 1
            freed += size
    return Collected(removed, freed, kept)
