"""GTO's registry read from git tags (made with plain `git tag -a` in GTO's format, dated, and
with the real gto) gives the state `gto show --json` reports."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mlpipex.data.gto import Action, fold, parse_tag, read_annotations, read_tags, show
from tests.data import dvcrepo
from tests.data.conftest import commit

ARTIFACTS = """artifacts:
  churn: {path: models/churn.pkl, type: model, desc: Churn model, labels: [tabular, xgb]}
  fraud: {path: models/fraud.pkl, type: model}
  old: {path: models/old.pkl, type: model}
"""


def _tag(repo: Path, name: str, rev: str, when: int) -> None:
    env = {**os.environ, "GIT_COMMITTER_DATE": f"{when} +0000"}
    subprocess.run(
        ["git", "tag", "-a", name, rev, "-m", f"GTO tag {name}"], cwd=repo, env=env, check=True
    )


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("churn@v1.2.0", ("churn", Action.REGISTER, "v1.2.0", None)),
        ("churn@v1.2.0-rc.1!", ("churn", Action.DEREGISTER, "v1.2.0-rc.1", None)),
        ("churn#prod#3", ("churn", Action.ASSIGN, None, "prod")),
        ("churn#prod!#4", ("churn", Action.UNASSIGN, None, "prod")),
        ("churn@deprecated", ("churn", Action.DEPRECATE, None, None)),
        ("models=churn#dev#1", ("models:churn", Action.ASSIGN, None, "dev")),
        ("v1.0.0", None),
        ("churn@1.0.0", None),
        ("churn#prod#x", None),
    ],
)
def test_tag_names(name: str, parsed: object) -> None:
    assert parse_tag(name) == parsed


@pytest.mark.slow
def test_state_matches_gto_show(repo: Path) -> None:
    (repo / "dvc.yaml").write_text(ARTIFACTS)
    shas = []
    for i in range(4):  # committed before the tags, as in life (GTO dates artifacts by commit)
        (repo / "m").write_text(str(i))
        when = f"{1_699_999_000 + i} +0000"
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GIT_COMMITTER_DATE", when)
            mp.setenv("GIT_AUTHOR_DATE", when)
            shas.append(commit(repo, f"c{i}"))
    c0, c1, c2, c3 = shas
    for k, (name, rev) in enumerate(
        [
            ("churn@v1.0.0", c1),
            ("churn#dev#1", c1),
            ("churn@v1.1.0", c2),
            ("churn#prod#2", c2),
            ("churn#prod#3", c1),
            ("churn#dev!#4", c1),
            ("churn@v0.9.0", c0),
            ("churn#staging#5", c0),
            ("fraud@v2.0.0", c2),
            ("fraud#prod#1", c2),
            ("fraud@v2.0.0!", c2),
            ("old@v1.0.0", c1),
            ("old@deprecated", c1),
            ("churn#qa#6", c3),
        ]
    ):
        _tag(repo, name, rev, 1_700_000_000 + 10 * k)
    dvcrepo.tool(repo, dvcrepo.GTO, "register", "fraud", "--version", "v2.1.0")  # dated now

    events = read_tags(repo)
    assert [e.tag for e in events][-1] == "fraud@v2.1.0"
    assert events[0].tagger == "Test" and events[0].time == 1_700_000_000
    ours = show(fold(events))
    theirs = json.loads(dvcrepo.tool(repo, dvcrepo.GTO, "show", "--json"))
    assert ours == theirs
    assert ours["churn"]["stage"] == {"prod": "v1.0.0", "staging": "v0.9.0", "qa": c3}
    assert ours["fraud"]["version"] == "v2.1.0" and "old" not in ours


def test_annotations_from_dvc_yaml_and_artifacts_yaml() -> None:
    found = read_annotations(
        {"dvc.yaml": ARTIFACTS, "artifacts.yaml": "extra: {type: dataset, path: d.csv}\n"}
    )
    assert found["churn"].labels == ("tabular", "xgb")
    assert found["churn"].description == "Churn model"
    assert (found["extra"].type, found["fraud"].path) == ("dataset", "models/fraud.pkl")
