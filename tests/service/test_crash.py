"""A registration killed with SIGKILL while storing a large artifact leaves no visible version,
nothing corrupt, and an orphan that gc removes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mlpipex.client import Client
from tests.conftest import Backend, mlpipex_cli, register_args

# slow: starts a process; direct: reaches into the database or objects
pytestmark = [pytest.mark.slow, pytest.mark.direct]

SIZE = 1536 * 1024 * 1024


def _big_file(path: Path) -> None:
    block = os.urandom(1024 * 1024)
    with path.open("wb") as f:
        for i in range(SIZE // len(block)):
            f.write(block[:-8] + i.to_bytes(8, "little"))


def test_sigkill_while_storing_leaves_no_version_and_gc_removes_the_orphan(
    backend: Backend, client: Client, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    _big_file(big)
    data = tmp_path / "train.csv"
    data.write_text("x\n1\n")
    tmpdir = Path(backend.objects) / "tmp"
    proc = subprocess.Popen(
        mlpipex_cli(*register_args(big, data)),
        env={**os.environ, **backend.env()},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    partial = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = [p for p in tmpdir.glob("*") if p.stat().st_size > 0] if tmpdir.exists() else []
        if found:
            partial = found[0]
            break
        time.sleep(0.002)
    assert partial is not None, "the registration finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert partial.exists() and partial.stat().st_size < SIZE

    assert client.list_models().items == []  # no visible version, not even the model
    rep = client.fsck()
    assert rep.ok and rep.abandoned_writes == 1
    gc = client.gc()
    assert gc.temp_removed == 1
    assert list(tmpdir.iterdir()) == []
    assert client.fsck().ok and client.fsck().abandoned_writes == 0
