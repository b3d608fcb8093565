"""Turning a local file or directory into a manifest, storing each file once."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mlpipex.domain.manifest import FileEntry, Manifest
from mlpipex.errors import Invalid, NotFound
from mlpipex.objects.hashing import Progress, hash_file
from mlpipex.objects.store import ObjectStore


def list_files(root: Path) -> list[tuple[str, Path]]:
    """Relative POSIX paths and local paths of the regular files under root (or root itself)."""
    if not root.exists():
        raise NotFound(f"{root} does not exist")
    if root.is_file():
        return [(root.name, root)]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath, name)
            if p.is_symlink():
                raise Invalid(f"{p} is a symbolic link; artifacts hold regular files only")
            out.append((p.relative_to(root).as_posix(), p))
    if not out:
        raise Invalid(f"{root} holds no files")
    return out


def _run(files: list[tuple[str, Path]], fn: Callable[[Path], tuple[str, int]]) -> Manifest:
    workers = min(8, (os.cpu_count() or 2) * 2) if len(files) > 1 else 1
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda item: fn(item[1]), files))
    return Manifest.of(
        FileEntry(rel, d, s) for (rel, _), (d, s) in zip(files, results, strict=True)
    )


def hash_tree(root: Path, progress: Progress | None = None) -> Manifest:
    """The manifest of a file or directory, hashed in parallel, nothing stored."""
    return hash_files(list_files(root), progress)


def hash_files(files: list[tuple[str, Path]], progress: Progress | None = None) -> Manifest:
    """The manifest of (relative path, local path) pairs as ``list_files`` gives them."""
    return _run(files, lambda p: hash_file(p, progress)) if files else Manifest.of(())


def store_tree(
    objects: ObjectStore,
    root: Path,
    manifest: Manifest | None = None,
    progress: Progress | None = None,
    seen_sizes: frozenset[int] = frozenset(),
) -> Manifest:
    """Store every file under root and return the manifest. Without a manifest each file is
    hashed while it is stored (one read); with one, its digests are trusted and nothing is hashed.
    ``seen_sizes``: sizes of large files stored before, whose bytes are likely stored already."""
    files = list_files(root)
    if manifest is None:
        return _run(
            files,
            lambda p: _stored(
                objects.put_file(p, progress=progress, likely_stored=p.stat().st_size in seen_sizes)
            ),
        )
    by_path = {e.path: e for e in manifest.files}
    rels = {p: rel for rel, p in files}
    _run(files, lambda p: _stored(objects.put_file(p, digest=by_path[rels[p]].digest)))
    return manifest


def _stored(e: FileEntry) -> tuple[str, int]:
    return e.digest, e.size
