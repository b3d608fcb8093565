"""metrics show/diff and params diff across git revisions, compared with the real dvc's --json
on the same repository (before and after import-dvc)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.data import dvcrepo
from tests.data.conftest import Run, commit

PIPELINE = """stages:
  train:
    cmd: python3 -c "pass"
    params: [train.lr, train.epochs, {extra.yaml: [depth]}]
    metrics: [{metrics.json: {cache: false}}, {eval/scores.yaml: {cache: false}}]
"""


def _state(repo: Path, lr: float, acc: float, name: str, extra: dict[str, float]) -> None:
    (repo / "params.yaml").write_text(f"train:\n  lr: {lr}\n  epochs: 5\n  name: {name}\n")
    (repo / "extra.yaml").write_text("depth: 3\n")
    metrics = {"acc": acc, "loss": {"train": 0.5, "val": 1 - acc}, "name": name, **extra}
    (repo / "metrics.json").write_text(json.dumps(metrics))
    (repo / "eval").mkdir(exist_ok=True)
    (repo / "eval" / "scores.yaml").write_text(f"auc: {acc + 0.05}\n")


@pytest.fixture
def history(repo: Path) -> Path:
    dvcrepo.dvc(repo, "init", "-q")
    (repo / "dvc.yaml").write_text(PIPELINE)
    _state(repo, 0.1, 0.8, "a", {"gone": 1})
    commit(repo, "one")
    _state(repo, 0.2, 0.85, "b", {})
    commit(repo, "two")
    _state(repo, 0.3, 0.9, "c", {"new": 3})  # the working tree
    return repo


def _json(mpx: Run, capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    assert mpx(*args, "--json") == 0
    return json.loads(capsys.readouterr().out)


def _dvc(repo: Path, *args: str) -> object:
    return json.loads(dvcrepo.dvc(repo, *args, "--json"))


REVS = [(), ("HEAD~1",), ("HEAD~1", "HEAD")]


@pytest.mark.slow
@pytest.mark.parametrize("revs", REVS)
@pytest.mark.parametrize("kind", ["metrics", "params"])
def test_diff_matches_dvc(
    history: Path, mpx: Run, capsys: pytest.CaptureFixture[str], kind: str, revs: tuple[str, ...]
) -> None:
    for extra in ((), ("--all",)):
        ours = _json(mpx, capsys, kind, "diff", *revs, *extra)
        assert ours == _dvc(history, kind, "diff", *revs, *extra)
        assert ours  # something changed in each pair


@pytest.mark.slow
def test_diff_reads_revisions_from_before_the_migration(
    history: Path, mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _dvc(history, "metrics", "diff", "HEAD~1")
    assert mpx("data", "import-dvc") == 0
    commit(history, "migrated")  # HEAD has mlpipex.yaml; HEAD~2 only dvc.yaml
    assert _json(mpx, capsys, "metrics", "diff", "HEAD~2") == before
    assert mpx("metrics", "diff", "HEAD~2", "--md") == 0
    md = capsys.readouterr().out.splitlines()
    assert md[0] == "| path | metric | HEAD~2 | workspace | change |"
    assert "| metrics.json | acc | 0.8 | 0.9 | 0.1 |" in md


def test_show_and_bad_revisions(repo: Path, mpx: Run, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "mlpipex.yaml").write_text(
        "stages:\n  s:\n    cmd: 'true'\n    metrics: [m.json]\n    params: [lr]\n"
    )
    (repo / "m.json").write_text('{"acc": 0.5, "per": {"a": 1}}')
    (repo / "params.yaml").write_text("lr: 0.1\n")
    commit(repo, "one")
    assert _json(mpx, capsys, "metrics", "show") == {"m.json": {"acc": 0.5, "per.a": 1}}
    assert mpx("metrics", "diff", "no-such-rev") == 1
    assert mpx("metrics", "diff", "--", "--output=/tmp/x") != 0
    capsys.readouterr()
    assert mpx("params", "diff") == 0
    assert capsys.readouterr().out.strip() == "no changes"
