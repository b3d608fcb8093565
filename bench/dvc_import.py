"""Benchmark `mlpipex data import-dvc` fetching from a local DVC remote against `dvc pull`.

    python bench/dvc_import.py            # 10,000 files of 1 KB
    python bench/dvc_import.py --quick    # 500 files, to check the script itself

One DVC repository is built with the real `dvc` (`dvc add`, `dvc push` to a local remote).
Two copies of it, with the DVC cache and the data removed (a fresh clone), are restored: one
by `dvc pull`, the other by `mlpipex data import-dvc` (fetching from the same remote, checking
each md5, storing under blake3) then `mlpipex data checkout`, timed together. Every command runs
in a network namespace (`unshare -rn`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, today

from data import ENV  # the environment bench/data.py runs DVC and git in

BIN = Path(sys.executable).parent


def run(cwd: Path, *cmd: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        ["unshare", "-rn", *cmd], cwd=cwd, env=ENV, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return took


def build(root: Path, n: int) -> Path:
    repo = root / "repo"
    (repo / "data").mkdir(parents=True)
    for i in range(n):
        (repo / "data" / f"{i:06}.txt").write_bytes(f"{i}\n".encode().ljust(1024, b"."))
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, str(BIN / "dvc"), "init", "-q")
    run(repo, str(BIN / "dvc"), "add", "-q", "data")
    run(repo, str(BIN / "dvc"), "remote", "add", "-d", "store", str(root / "remote"))
    run(repo, str(BIN / "dvc"), "push", "-q")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "data")
    return repo


def fresh(repo: Path, dest: Path) -> Path:
    shutil.copytree(repo, dest, symlinks=True)
    shutil.rmtree(dest / ".dvc" / "cache", ignore_errors=True)
    shutil.rmtree(dest / "data")
    return dest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    n = 500 if parser.parse_args().quick else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = build(root, n)
        a = fresh(repo, root / "dvc")
        dvc_s = run(a, str(BIN / "dvc"), "pull", "-q")
        b = fresh(repo, root / "mpx")
        imp = run(b, str(BIN / "mlpipex"), "data", "import-dvc")
        co = run(b, str(BIN / "mlpipex"), "data", "checkout")
        same = all(
            (a / "data" / f).read_bytes() == (b / "data" / f).read_bytes()
            for f in os.listdir(a / "data")
        )
        print(f"{machine()}, {today()}")
        print("| files | dvc pull s | import-dvc s | + checkout s | total s | ratio | same |")
        print(
            f"| {n} | {dvc_s:.2f} | {imp:.2f} | {co:.2f} | {imp + co:.2f} | "
            f"{dvc_s / (imp + co):.2f}x | {same} |"
        )


if __name__ == "__main__":
    main()
