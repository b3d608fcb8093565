"""Reading pointer files from every commit of the git repository, for ``gc --all-commits``."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from mlpipex.errors import Invalid


def _git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, input=data, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise Invalid("git is not installed") from None
    if proc.returncode != 0:
        raise Invalid(
            f"git {args[0]} failed in {root}: {proc.stderr.decode(errors='replace').strip()}",
            hint="--all-commits needs a git repository",
        )
    return proc.stdout


def files_in_history(root: Path, wanted: Callable[[str], bool]) -> list[tuple[str, str]]:
    """(path, text) of every distinct version, in any commit, of the files whose path is wanted."""
    commits = _git(root, "rev-list", "--all").decode().split()
    blobs: dict[str, str] = {}
    for commit in commits:
        for entry in _git(root, "ls-tree", "-r", "-z", commit).split(b"\0"):
            if not entry:
                continue
            meta, _, path = entry.decode(errors="replace").partition("\t")
            _, kind, sha = meta.split()
            if kind == "blob" and wanted(path):
                blobs.setdefault(sha, path)
    if not blobs:
        return []
    out = _git(root, "cat-file", "--batch", data="".join(f"{s}\n" for s in blobs).encode())
    texts: list[tuple[str, str]] = []
    pos = 0
    for sha, path in blobs.items():
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        size = int(header[2])
        texts.append((path, out[end + 1 : end + 1 + size].decode(errors="replace")))
        assert header[0].decode() == sha
        pos = end + 1 + size + 1
    return texts
