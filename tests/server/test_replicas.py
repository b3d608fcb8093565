"""Two control planes on one PostgreSQL behave as one registry: concurrent registrations through
both get distinct, gapless versions."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlpipex.client import Client
from tests.conftest import PG_SERVER, mlpipex_cli, register_args, start_server, stop_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PG_SERVER is None, reason="needs MLPIPEX_TEST_POSTGRES_URL"),
]
N = 20


def test_two_servers_one_database(pg_url: str, tmp_path: Path) -> None:
    from tests.conftest import _reset_postgres

    _reset_postgres(pg_url)
    objects = str(tmp_path / "objects")
    servers = [start_server(pg_url, objects) for _ in range(2)]
    try:
        data = tmp_path / "train.csv"
        data.write_text("x\n1\n")
        procs = []
        for i in range(N):
            model = tmp_path / f"m{i}.bin"
            model.write_bytes(os.urandom(10_000))
            url = servers[i % 2][1]
            procs.append(
                subprocess.Popen(
                    mlpipex_cli(*register_args(model, data)),
                    env={**os.environ, "MLPIPEX_URI": url, "MLPIPEX_USER": f"u{i}"},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for p in procs:
            _out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err
        with Client(servers[1][1]) as c:
            versions = sorted(v.version for v in c.list_versions("fraud", limit=100).items)
            assert versions == list(range(1, N + 1))
            assert c.verify_audit().ok
        with Client(servers[0][1]) as c:
            assert c.get_model("fraud").last_version == N
    finally:
        for proc, _ in servers:
            stop_server(proc)
        _reset_postgres(pg_url)
