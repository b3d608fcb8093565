from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult


@pytest.mark.slow  # starts a control plane and an agent
def test_quickstart_runs_the_main_job_end_to_end(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    r = cli("quickstart", "--dir", str(tmp_path / "qs"))
    assert r.code == 0, r.err
    last = r.out.strip().splitlines()[-1]
    assert last.startswith("Quickstart done")
    assert "refused: registration of fraud-detector refused" in r.out
    assert "bob approves: fraud-detector/1 -> Production: done" in r.out
    assert "chain: intact" in r.out
    assert "traffic v2:100% (succeeded)" in r.out  # the canary rollout finished
    assert "drift of fraud-detector/2 over its last 600 requests: no drift" in r.out
    assert 'mlpipex_endpoint_requests_total{endpoint="fraud-detector",version="2"}' in r.out
    again = cli(
        "show", "fraud-detector:production", env={"MLPIPEX_URI": str(tmp_path / "qs" / ".mlpipex")}
    )
    assert again.code == 0 and "fraud-detector/2" in again.out  # the canary's version serves


def test_quickstart_refuses_a_folder_that_is_not_empty(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    (tmp_path / "x").write_text("keep me")
    r = cli("quickstart", "--dir", str(tmp_path))
    assert r.code == 2 and (tmp_path / "x").read_text() == "keep me"
