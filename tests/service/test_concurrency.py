"""Twenty processes register versions of one model at once: versions exactly 1..20, no errors."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mlpipex.client import Client
from tests.conftest import Backend, mlpipex_cli, register_args

pytestmark = pytest.mark.slow  # starts processes

N = 20


def test_concurrent_registrations_get_distinct_gapless_versions(
    backend: Backend, client: Client, make_file: Callable[..., Path], tmp_path: Path
) -> None:
    data = make_file("train.csv", content=b"x\n1\n")
    env = {**os.environ, **backend.env()}
    procs = []
    for i in range(N):
        model = make_file(f"model{i}.bin", size=20_000)
        procs.append(
            subprocess.Popen(
                mlpipex_cli(*register_args(model, data, f"auc=0.{i:02d}")),
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    printed = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        printed.append(int(out.strip().splitlines()[-1]))
    assert sorted(printed) == list(range(1, N + 1))
    stored = client.list_versions("fraud", limit=100).items
    assert sorted(v.version for v in stored) == list(range(1, N + 1))
    assert client.verify_audit().ok
