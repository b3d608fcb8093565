"""A real DVC repository, built with the real `dvc` (and `git`) inside a network namespace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DVC = str(Path(sys.executable).with_name("dvc"))
GTO = str(Path(sys.executable).with_name("gto"))
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GTO_NO_ANALYTICS": "1"}


def tool(cwd: Path, *args: str) -> str:
    """Run a command with no network but loopback (dvc and gto may try to reach out)."""
    proc = subprocess.run(
        ["unshare", "-rn", *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"{args}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    return proc.stdout


def dvc(cwd: Path, *args: str) -> str:
    return tool(cwd, DVC, *args)


FILES = {"data/a.csv": b"x,y\n1,2\n", "data/sub/b.csv": b"x,y\n3,4\n", "model.bin": b"\0weights"}


def build(path: Path, remote: Path) -> Path:
    """A git repository with `dvc add`ed data, pushed to a local remote; the cache dropped and
    the data deleted, as in a fresh clone."""
    path.mkdir(parents=True)
    for args in (("init", "-q", "-b", "main"), ("config", "user.email", "t@example.com")):
        subprocess.run(["git", *args], cwd=path, check=True)
    subprocess.run(["git", "config", "user.name", "T"], cwd=path, check=True)
    dvc(path, "init", "-q")
    for rel, data in FILES.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    dvc(path, "add", "-q", "data", "model.bin")
    dvc(path, "remote", "add", "-d", "store", str(remote))
    dvc(path, "push", "-q")
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "data"], cwd=path, check=True)
    drop_data(path)
    return path


def drop_data(path: Path) -> None:
    shutil.rmtree(path / ".dvc" / "cache", ignore_errors=True)
    shutil.rmtree(path / "data")
    (path / "model.bin").unlink()


def to_dvc2_layout(remote: Path) -> None:
    """Rewrite a DVC 3 remote (files/md5/xx/yyyy) in DVC 2's layout (xx/yyyy)."""
    base = remote / "files" / "md5"
    for f in list(base.rglob("*")):
        if f.is_file():
            dest = remote / f.relative_to(base)
            dest.parent.mkdir(parents=True, exist_ok=True)
            f.rename(dest)
    shutil.rmtree(remote / "files")
