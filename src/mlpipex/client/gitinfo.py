"""The training commit: read from git, with whether the working tree had uncommitted changes."""

from __future__ import annotations

import subprocess
from pathlib import Path


def detect_commit(*dirs: Path) -> tuple[str, bool] | None:
    """(sha, dirty) of the first directory inside a git work tree, or None."""
    for d in dirs:
        d = d if d.is_dir() else d.parent
        try:
            sha = subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=d,
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            ).stdout.strip()
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=d,
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if sha:
            return sha, bool(status.strip())
    return None
