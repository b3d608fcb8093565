"""Reading from git: pointer files in every commit (``gc --all-commits``), files at a revision."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from mlpipex.errors import Invalid


def run_git(root: Path, *args: str, data: bytes | None = None) -> bytes | None:
    """git's output, or None when it fails (a missing revision or file, not a repository)."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, input=data, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise Invalid("git is not installed") from None
    return proc.stdout if proc.returncode == 0 else None


def _git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    out = run_git(root, *args, data=data)
    if out is None:
        raise Invalid(f"git {args[0]} failed in {root}", hint="this needs a git repository")
    return out


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
