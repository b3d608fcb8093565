"""Hashing a tracked path (file or directory) with the stat cache, and storing it in the cache."""

from __future__ import annotations

import os
import stat as st_mode
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from mlpipex.data.parallel import parallel_map
from mlpipex.data.progress import SILENT, Advance, Reporter
from mlpipex.data.statcache import Stat, StatCache, TreeState
from mlpipex.data.workspace import Workspace
from mlpipex.domain.digest import Digest
from mlpipex.domain.manifest import FileEntry, Manifest
from mlpipex.domain.pointer import PointerOut
from mlpipex.errors import Corrupt, Invalid, NotFound
from mlpipex.objects.hashing import hash_file

_CHUNK = 128
_FORK_ABOVE = 4096  # files to hash before forked processes pay off
_FORK_CHUNK = 2048
_BIG = 1024 * 1024  # mean file size from which threads help


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
            for e in it:  # files first: they are most entries
                if e.is_file(follow_symlinks=False):
                    s = e.stat(follow_symlinks=False)
                    files[prefix + e.name] = (e.inode(), s.st_mtime_ns, s.st_size)
                elif e.is_dir(follow_symlinks=False):
                    stack.append((f"{prefix}{e.name}/", e.path))
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
    if prev is not None and prev.isdir == isdir and prev.stats == stats:  # the no-op path
        if store is not None:
            _store_known(ws, rel, prev, store, jobs)
        return Built(rel, prev)
    same_kind = prev is not None and prev.isdir == isdir
    before_stats = prev.stats if prev is not None and same_kind else {}
    before = prev.digests if prev is not None and same_kind else {}
    todo = [n for n, s in stats.items() if before_stats.get(n) != s]
    digests = {n: before[n] for n in stats if n in before and before_stats[n] == stats[n]}
    base = str(ws.abs(rel))
    paths = [f"{base}/{n}" if n else base for n in todo]
    sizes = [stats[n][2] for n in todo]
    with reporter.task(f"hashing {rel}", sum(sizes)) as advance:
        new = _hash_all(ws, paths, sizes, advance, store, jobs)
    for name, path, digest in zip(todo, paths, new, strict=True):
        old = before_stats.get(name)
        if old is not None and old[0] == stats[name][0] and before[name] != digest:
            _drop_if_same_inode(ws, before[name], path)
        digests[name] = digest
    state, manifest = _state(isdir, stats, digests)
    if manifest is not None and store is not None:
        ws.cache.put_bytes(manifest.to_json())
    cache.put(rel, state)
    return Built(rel, state, manifest)


def _state(
    isdir: bool, stats: dict[str, Stat], digests: dict[str, str]
) -> tuple[TreeState, Manifest | None]:
    size = sum(s[2] for s in stats.values())
    if not isdir:
        return TreeState(digests[""], False, size, stats, digests), None
    state = TreeState("", True, size, stats, digests)
    manifest = manifest_of(state)
    state.digest = manifest.digest
    return state, manifest


def manifest_of(state: TreeState) -> Manifest:
    sizes = state.stats
    return Manifest.of(FileEntry(n, d, sizes[n][2]) for n, d in state.digests.items())


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
    ws: Workspace,
    paths: list[str],
    sizes: list[int],
    advance: Advance,
    store: str | None,
    jobs: int,
) -> list[str]:
    """Digests of paths (stored too when store is a link mode), using every core.

    Tiny files cost Python time, not I/O: threads would fight over the GIL, so many of them go
    to forked processes. Big files release the GIL while blake3 hashes them: threads suffice.
    """
    workers = jobs or os.cpu_count() or 1
    if len(paths) >= _FORK_ABOVE and workers > 1:
        if store == "copy":
            ws.cache  # noqa: B018  (import fsspec before forking, never in the children)
        chunks = [
            (paths[k : k + _FORK_CHUNK], sizes[k : k + _FORK_CHUNK])
            for k in range(0, len(paths), _FORK_CHUNK)
        ]
        # imported here: a no-op status never forks, and these cost 15 ms to import
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=ctx) as pool:
            work = partial(_hash_chunk, str(ws.root), store)
            out: list[str] = []
            for (_, chunk_sizes), digests in zip(
                chunks, pool.map(work, [c[0] for c in chunks]), strict=True
            ):
                advance(sum(chunk_sizes))
                out.extend(digests)
            return out
    threads = 1 if sum(sizes) < len(sizes) * _BIG else jobs
    return parallel_map(lambda p: _hash_one(ws, p, store, advance), paths, threads, _CHUNK)


def _hash_one(ws: Workspace, path: str, store: str | None, advance: Advance | None) -> str:
    from mlpipex.data.link import adopt

    digest = hash_file(path, advance)[0]
    if store is not None:
        adopt(ws, path, digest, store)
    return digest


def _hash_chunk(root: str, store: str | None, paths: list[str]) -> list[str]:
    ws = Workspace(Path(root))
    return [_hash_one(ws, p, store, None) for p in paths]


def _store_known(ws: Workspace, rel: str, state: TreeState, mode: str, jobs: int) -> None:
    from mlpipex.data.link import adopt

    base = str(ws.abs(rel))
    items = [(f"{base}/{n}" if n else base, d) for n, d in state.digests.items()]
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
