"""``push``, ``fetch`` and ``pull``: moving objects between the cache and a remote, in parallel.

Each object lands whole or not at all (the object store writes atomically), and every run first
asks what the other side lacks, so an interrupted transfer resumes without re-sending anything.
Files go before the manifests that list them: a manifest on a remote means its files are there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlpipex.data.build import load_manifest
from mlpipex.data.checkout import checkout
from mlpipex.data.parallel import parallel_map
from mlpipex.data.progress import SILENT, Advance, Reporter
from mlpipex.data.remote import open_remote
from mlpipex.data.workspace import Tracked, Workspace
from mlpipex.domain.manifest import Manifest
from mlpipex.errors import NotFound

if TYPE_CHECKING:
    from mlpipex.objects.store import ObjectStore


@dataclass
class Transfer:
    sent: int = 0
    present: int = 0  # already on the other side
    missing: list[str] = field(default_factory=list)  # nowhere to be found
    verified: set[str] = field(default_factory=set)
    resolved: list[str] = field(default_factory=list)  # DVC pointers rewritten (commit them)


def push(
    ws: Workspace,
    remote: str | None = None,
    targets: list[str] | None = None,
    reporter: Reporter = SILENT,
    jobs: int = 0,
) -> Transfer:
    store = open_remote(ws, remote)
    manifests, files = _objects(ws, ws.tracked(targets), None)
    local_missing = sorted(d for d in files if not os.path.exists(ws.object_path(d)))
    if local_missing:
        raise NotFound(
            f"{len(local_missing)} object(s) to push are not in the cache, e.g. {local_missing[0]}",
            hint="run `mlpipex data status` and `add`",
        )
    result = Transfer()
    for group in (sorted(files), manifests):  # files first: see the module docstring
        todo = _absent(store, group)
        result.present += len(group) - len(todo)
        total = sum(os.path.getsize(ws.object_path(d)) for d in todo)
        with reporter.task(f"push to {store.url}", total) as advance:
            parallel_map(
                lambda d: store.put_file(ws.object_path(d), digest=d, progress=advance), todo, jobs
            )
        result.sent += len(todo)
    return result


def fetch(
    ws: Workspace,
    remote: str | None = None,
    targets: list[str] | None = None,
    reporter: Reporter = SILENT,
    jobs: int = 0,
) -> Transfer:
    from mlpipex.data.dvc import resolve_pointers

    resolved = resolve_pointers(ws, targets, reporter)  # left by import-dvc --no-data
    result = Transfer(sent=resolved.fetched, resolved=resolved.pointers)
    tracked = ws.tracked(targets)
    if _all_cached(ws, tracked):  # nothing to fetch: no remote needed
        result.present = len(tracked)
        return result
    store = open_remote(ws, remote)
    _manifests, files = _objects(ws, tracked, (store, result))
    todo = sorted(d for d in files if not os.path.exists(ws.object_path(d)))
    result.present += len(files) - len(todo)
    gone = store.missing(todo)
    result.missing += [d for d in todo if d in gone]
    todo = [d for d in todo if d not in gone]
    total = sum(files[d] for d in todo)
    with reporter.task(f"fetch from {store.url}", total) as advance:
        parallel_map(lambda d: _download(ws, store, d, advance), todo, jobs)
    result.sent += len(todo)
    result.verified.update(todo)
    if result.missing:
        raise NotFound(
            f"{len(result.missing)} object(s) are not on {store.url}, e.g. {result.missing[0]}",
            hint="push them from a workspace that has them",
        )
    return result


def pull(
    ws: Workspace,
    remote: str | None = None,
    targets: list[str] | None = None,
    reporter: Reporter = SILENT,
    jobs: int = 0,
    force: bool = False,
) -> tuple[Transfer, list[str]]:
    result = fetch(ws, remote, targets, reporter, jobs)
    return result, checkout(ws, targets, force=force, reporter=reporter, verified=result.verified)


def _objects(
    ws: Workspace, tracked: list[Tracked], source: tuple[ObjectStore, Transfer] | None
) -> tuple[list[str], dict[str, int]]:
    """Manifest digests and file digests (with sizes) that the tracked outs need."""
    manifests: list[str] = []
    files: dict[str, int] = {}
    for t in tracked:
        digest = t.out.digest.hex
        if not t.out.isdir:
            files[digest] = t.out.size or 0
            continue
        manifests.append(digest)
        if source is not None and not os.path.exists(ws.object_path(digest)):
            store, result = source
            if not store.exists(digest):
                result.missing.append(digest)
                continue
            _download(ws, store, digest, None)
            result.sent += 1
        manifest: Manifest = load_manifest(ws, digest)
        files.update((e.digest, e.size) for e in manifest.files)
    return manifests, files


def _all_cached(ws: Workspace, tracked: list[Tracked]) -> bool:
    """True when every object the tracked outs need is in the cache already."""
    for t in tracked:
        if not os.path.exists(ws.object_path(t.out.digest.hex)):
            return False
        files = load_manifest(ws, t.out.digest.hex).files if t.out.isdir else ()
        if not all(os.path.exists(ws.object_path(e.digest)) for e in files):
            return False
    return True


def _absent(store: ObjectStore, digests: list[str]) -> list[str]:
    gone = store.missing(digests)
    return [d for d in digests if d in gone]


def _download(ws: Workspace, store: ObjectStore, digest: str, advance: Advance | None) -> None:
    dest = ws.object_dest(digest)
    store.get_file(digest, dest, advance)
    os.chmod(dest, 0o444)
