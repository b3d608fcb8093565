"""plots diff: the plots files of several revisions drawn over each other, self-contained."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.data.conftest import Run, commit, write

PIPELINE = """stages:
  train:
    cmd: 'true'
    plots: [{loss.csv: {x: epoch, y: [train, val]}}]
plots:
  - roc.json: {x: fpr, y: tpr}
"""


def _loss(repo: Path, scale: float) -> None:
    rows = "\n".join(f"{e},{scale / (e + 1):.4f},{scale * 1.2 / (e + 1):.4f}" for e in range(5))
    write(repo / "loss.csv", "epoch,train,val\n" + rows + "\n")
    write(repo / "roc.json", json.dumps({"roc": [{"fpr": f / 4, "tpr": scale} for f in range(5)]}))


@pytest.fixture
def history(repo: Path) -> Path:
    write(repo / "mlpipex.yaml", PIPELINE)
    _loss(repo, 1.0)
    commit(repo, "one")
    _loss(repo, 0.5)
    commit(repo, "two")
    _loss(repo, 0.25)
    return repo


def test_plots_diff_draws_each_revision(history: Path, mpx: Run) -> None:
    out = history / "report.html"
    assert mpx("plots", "diff", "HEAD~1", "HEAD", "workspace-is-not-a-rev", "-o", out) == 1
    assert mpx("plots", "diff", "HEAD~1", "HEAD", "-o", out) == 0
    page = out.read_text()
    assert page.count("<svg") == 3  # train and val of loss.csv, tpr of roc.json
    for label in ("HEAD~1", "HEAD"):
        assert f"<title>{label}</title>" in page
    assert not re.search(r"(src|href)=\"https?:", page)  # self-contained


def test_plots_diff_json_has_the_rows(
    history: Path, mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert mpx("plots", "diff", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"loss.csv", "roc.json"}
    assert set(data["loss.csv"]) == {"HEAD", "workspace"}
    assert data["loss.csv"]["workspace"][0] == {"epoch": "0", "train": "0.2500", "val": "0.3000"}
