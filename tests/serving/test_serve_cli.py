"""`mlpipex serve models:/NAME/1` as a real process: a version registered in a tmp registry,
served by two forked workers, named in every answer, stopped cleanly by SIGTERM."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mlpipex.client import Client
from mlpipex.flavors import load_model
from mlpipex.serving import HEADER
from tests.serving.conftest import Packages, start, stop, url_of

pytestmark = pytest.mark.slow  # starts processes


def test_serve_a_registered_version_with_two_workers(packages: Packages, tmp_path: Path):
    registry = str(tmp_path / "reg")
    train = tmp_path / "train.csv"
    train.write_text("x,y\n1,0\n")
    with Client(registry) as client:
        v = client.register(
            "fraud",
            packages.lr,
            commit="a" * 40,
            datasets={"train": str(train)},
            metrics={"auc": 0.9},
        )
    assert v.version == 1
    proc = start(["--uri", registry, "serve", "models:/fraud/1", "--port", "0", "--workers", "2"])
    try:
        url = url_of(proc)
        want = load_model(packages.lr).predict(packages.X[:3]).tolist()
        with httpx.Client(base_url=url, timeout=30) as http:
            body = {"dataframe_split": {"data": packages.X[:3].tolist()}}
            for _ in range(4):  # keep-alive and fresh connections land on either worker
                r = http.post("/invocations", json=body)
                assert r.status_code == 200 and r.json() == {"predictions": want}
                assert r.headers[HEADER] == "fraud/1"
            meta = http.get("/v2/models/fraud/versions/1").json()
            assert meta["name"] == "fraud" and meta["versions"] == ["1"]
        r = httpx.post(f"{url}/invocations", json={"instances": [[1, 2]]})
        assert r.status_code == 400 and r.headers[HEADER] == "fraud/1"
    finally:
        code = stop(proc)
    assert code == 0


def test_serve_refuses_an_unknown_version(tmp_path: Path):
    with Client(str(tmp_path / "reg")) as client:
        client.create_model("fraud")
    proc = start(["--uri", str(tmp_path / "reg"), "serve", "models:/nope/1", "--port", "0"])
    assert proc.wait(timeout=60) == 4  # not found
    assert proc.stderr is not None and "nope" in proc.stderr.read()


@pytest.mark.slow
def test_serve_refuses_code_unless_trusted(packages: Packages):
    proc = start(["serve", str(packages.counting), "--port", "0"])
    assert proc.wait(timeout=60) == 1
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert "runs that code" in err and "--allow-pickle" in err
