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
    return _run(list_files(root), lambda p: hash_file(p, progress))


def store_tree(
    objects: ObjectStore,
    root: Path,
    manifest: Manifest | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Store every file under root (hashing it unless the manifest is given) and the manifest."""
    files = list_files(root)
    if manifest is None:
        manifest = _run(files, lambda p: hash_file(p, progress))
    by_path = {e.path: e for e in manifest.files}

    def put(p: Path, rel: str) -> tuple[str, int]:
        e = by_path[rel]
        objects.put_file(p, digest=e.digest)
        return e.digest, e.size

    _run(files, lambda p: put(p, _rel(root, p)))
    return manifest


def _rel(root: Path, p: Path) -> str:
    return p.name if root.is_file() else p.relative_to(root).as_posix()
