"""Hashing a tracked path (file or directory) with the stat cache, and storing it in the cache."""

from __future__ import annotations

import os
import stat as st_mode
from dataclasses import dataclass

from mlpipex.data.parallel import parallel_map
from mlpipex.data.progress import SILENT, Advance, Reporter
from mlpipex.data.statcache import Files, Stat, StatCache, TreeState
from mlpipex.data.workspace import Workspace
from mlpipex.domain.digest import Digest
from mlpipex.domain.manifest import FileEntry, Manifest
from mlpipex.domain.pointer import PointerOut
from mlpipex.errors import Corrupt, Invalid, NotFound
from mlpipex.objects.hashing import hash_file

_CHUNK = 128


@dataclass(frozen=True, slots=True)
class Built:
    """A path as it is now: its digest, and its manifest when this build made one."""

    rel: str
    state: TreeState
    manifest: Manifest | None = None

    def out(self, path: str | None = None) -> PointerOut:
        s = self.state
        return PointerOut(
            self.rel if path is None else path,
            Digest("blake3", s.digest),
            s.size,
            s.nfiles,
            s.isdir,
        )


def scan(ws: Workspace, rel: str) -> tuple[bool, dict[str, Stat]]:
    """Whether rel is a directory, and (inode, mtime_ns, size) of each of its files."""
    top = str(ws.abs(rel))
    try:
        info = os.lstat(top)
    except FileNotFoundError:
        raise NotFound(f"{rel} does not exist") from None
    if st_mode.S_ISREG(info.st_mode):
        return False, {"": (info.st_ino, info.st_mtime_ns, info.st_size)}
    if not st_mode.S_ISDIR(info.st_mode):
        raise Invalid(f"{rel} is neither a regular file nor a directory")
    files: dict[str, Stat] = {}
    stack = [("", top)]
    while stack:
        prefix, folder = stack.pop()
        with os.scandir(folder) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append((f"{prefix}{e.name}/", e.path))
                elif e.is_file(follow_symlinks=False):
                    s = e.stat(follow_symlinks=False)
                    files[prefix + e.name] = (e.inode(), s.st_mtime_ns, s.st_size)
                else:
                    raise Invalid(
                        f"{rel}/{prefix}{e.name} is a link or special file; track regular files"
                    )
    return True, files


def build(
    ws: Workspace,
    rel: str,
    cache: StatCache,
    reporter: Reporter = SILENT,
    *,
    store: str | None = None,
    jobs: int = 0,
) -> Built:
    """The digest of rel now, hashing only files whose stat changed.

    store: a link mode ("hardlink" or "copy") to also put the files in the cache.
    """
    isdir, stats = scan(ws, rel)
    prev = cache.get(rel)
    before: Files = prev.files if prev is not None and prev.isdir == isdir else {}
    files: Files = {}
    todo: list[str] = []
    for name, s in stats.items():
        p = before.get(name)
        if p is not None and p[0] == s[0] and p[1] == s[1] and p[2] == s[2]:
            files[name] = p
        else:
            todo.append(name)
    if prev is not None and not todo and len(before) == len(stats):
        if store is not None:
            _store_known(ws, rel, prev, store, jobs)
        return Built(rel, prev)
    base = ws.abs(rel)
    paths = [str(base / n) if n else str(base) for n in todo]
    total = sum(stats[n][2] for n in todo)
    with reporter.task(f"hashing {rel}", total) as advance:
        digests = _hash_all(ws, paths, advance, store, jobs)
    for name, path, digest in zip(todo, paths, digests, strict=True):
        s = stats[name]
        old = before.get(name)
        if old is not None and old[0] == s[0] and old[3] != digest:
            _drop_if_same_inode(ws, old[3], path)
        files[name] = (s[0], s[1], s[2], digest)
    size = sum(f[2] for f in files.values())
    manifest = None
    if isdir:
        manifest = Manifest.of(FileEntry(n, f[3], f[2]) for n, f in files.items())
        digest = manifest.digest
        if store is not None:
            ws.cache.put_bytes(manifest.to_json())
    else:
        digest = files[""][3]
    state = TreeState(digest, isdir, size, files)
    cache.put(rel, state)
    return Built(rel, state, manifest)


def manifest_of(state: TreeState) -> Manifest:
    return Manifest.of(FileEntry(n, f[3], f[2]) for n, f in state.files.items())


def load_manifest(ws: Workspace, digest: str) -> Manifest:
    """A directory's manifest from the cache, checked against its digest."""
    try:
        with open(ws.object_path(digest), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise NotFound(
            f"manifest {digest} is not in the cache",
            hint="run `mlpipex data fetch` to get it from the remote",
        ) from None
    manifest = Manifest.from_json(data)
    if manifest.digest != digest:
        raise Corrupt(
            f"cached manifest {digest} does not match its digest",
            hint="remove it from .mlpipex/cache and run `mlpipex data fetch`",
        )
    return manifest


def _hash_all(
    ws: Workspace, paths: list[str], advance: Advance, store: str | None, jobs: int
) -> list[str]:
    from mlpipex.data.link import adopt

    def one(path: str) -> str:
        digest = hash_file(path, advance)[0]
        if store is not None:
            adopt(ws, path, digest, store)
        return digest

    return parallel_map(one, paths, jobs, _CHUNK)


def _store_known(ws: Workspace, rel: str, state: TreeState, mode: str, jobs: int) -> None:
    from mlpipex.data.link import adopt

    base = ws.abs(rel)
    items = [(str(base / n) if n else str(base), f[3]) for n, f in state.files.items()]
    parallel_map(lambda item: adopt(ws, item[0], item[1], mode), items, jobs, _CHUNK)
    if state.isdir and not os.path.exists(ws.object_path(state.digest)):
        ws.cache.put_bytes(manifest_of(state).to_json())


def _drop_if_same_inode(ws: Workspace, digest: str, path: str) -> None:
    """A hardlinked file edited in place changed its cache object too: that object is corrupt."""
    obj = ws.object_path(digest)
    try:
        if os.stat(obj).st_ino == os.stat(path).st_ino:
            os.unlink(obj)
    except FileNotFoundError:
        pass
