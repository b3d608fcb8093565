"""`models import-gto`: a DVC project built with the real dvc, GTO tags made with git (dated) and
with the real gto, imported into a registry and compared with `gto show --json`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.domain.manifest import EXTERNAL_DIGEST
from mlpipex.domain.policy import MISSING_TAG
from mlpipex.domain.workspaces import Quotas
from mlpipex.errors import Invalid, PolicyViolation, QuotaExceeded
from mlpipex.service.registry.gto_import import VERSION_TAG
from tests.conftest import BACKENDS, CliResult, _reset, _reset_postgres
from tests.data import dvcrepo
from tests.data.conftest import commit, init_repo

pytestmark = pytest.mark.slow

TRAIN = """import json, pathlib
rows = pathlib.Path("data.csv").read_text().splitlines()
pathlib.Path("models").mkdir(exist_ok=True)
pathlib.Path("models/churn.pkl").write_text("weights of " + str(len(rows)) + " rows")
pathlib.Path("metrics.json").write_text(json.dumps({"auc": 0.8 + len(rows) / 100}))
"""

DVC_YAML = f"""stages:
  train:
    cmd: {sys.executable} train.py
    deps: [data.csv, train.py]
    outs: [models/churn.pkl]
    metrics: [{{metrics.json: {{cache: false}}}}]
artifacts:
  churn: {{path: models/churn.pkl, type: model, desc: Churn model, labels: [tabular, xgb]}}
  old: {{path: models/churn.pkl, type: model}}
  rows: {{path: data.csv, type: dataset}}
"""

T0 = 1_700_000_000


def _tag(repo: Path, name: str, rev: str, k: int) -> None:
    env = {**os.environ, "GIT_COMMITTER_DATE": f"{T0 + 10 * k} +0000"}
    subprocess.run(["git", "tag", "-a", name, rev, "-m", name], cwd=repo, env=env, check=True)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Three commits, each with the model dvc repro made and pushed; tags in GTO's format."""
    base = tmp_path_factory.mktemp("gto")
    repo = init_repo(base / "repo")
    dvcrepo.dvc(repo, "init", "-q")
    dvcrepo.dvc(repo, "remote", "add", "-d", "store", str(base / "remote"))
    (repo / "train.py").write_text(TRAIN)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    shas = []
    for i in range(3):
        (repo / "data.csv").write_text("x\n" * (i + 1))
        dvcrepo.dvc(repo, "repro", "-q")
        dvcrepo.dvc(repo, "push", "-q")
        when = f"{T0 - 1000 + i} +0000"
        env = {"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
        with pytest.MonkeyPatch.context() as mp:
            for k, v in env.items():
                mp.setenv(k, v)
            shas.append(commit(repo, f"train {i}"))
    c0, c1, _ = shas
    for k, (name, rev) in enumerate(
        [
            ("churn@v1.0.0", c0),
            ("churn#dev#1", c0),
            ("churn@v1.1.0", c1),
            ("churn#staging#2", c1),
            ("churn#dev#3", c1),  # v1.1.0 holds staging and dev: dev is the latest
            ("churn#prod#4", c0),  # v1.0.0 holds dev and prod
            ("churn#dev!#5", c0),  # v1.0.0 keeps prod
            ("old@v1.0.0", c0),
            ("old@deprecated", c0),
            ("rows@v1.0.0", c0),  # a dataset artifact: not a model
        ]
    ):
        _tag(repo, name, rev, k)
    shutil.rmtree(repo / ".dvc" / "cache")  # as in a fresh clone: bytes only on the remote
    return repo, shas


@pytest.fixture
def gto_repo(template: tuple[Path, list[str]], tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "repo"
    shutil.copytree(template[0], repo, symlinks=True)
    yield repo


@pytest.fixture(params=BACKENDS[:2])  # the registries the import writes to: not a server
def local(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    objects = str(tmp_path / "objects")
    if request.param == "sqlite":
        uri = str(tmp_path / "reg" / ".mlpipex")
    else:
        uri = request.getfixturevalue("pg_url")
        _reset_postgres(uri)
    with Client(uri, objects=objects) as c:
        yield c


def _gto_show(repo: Path) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = json.loads(
        dvcrepo.tool(repo, dvcrepo.GTO, "show", "--json")
    )
    return out


def _registry(c: Client, name: str) -> dict[str, tuple[int, str, str]]:
    """gto version -> (number, current stage, alias naming it)."""
    return {
        v.tags[VERSION_TAG]: (v.version, v.stage, ",".join(v.aliases))
        for v in c.list_versions(name).items
    }


def _compare(c: Client, repo: Path) -> None:
    """Every stage gto show gives churn is held by that version in the imported history; a
    version holding one GTO stage is in it here; the latest version is the greatest number."""
    shown = _gto_show(repo)["churn"]
    ours = _registry(c, "churn")
    held = {}
    for e in c.events(model="churn"):
        if e.version is not None and "gto_stages" in e.payload:
            held[e.version] = e.payload["gto_stages"]
    stages = shown["stage"]
    assert isinstance(stages, dict)
    for stage, version in stages.items():
        if version is None:
            continue
        n, current, alias = ours[version]
        assert stage in held[n]
        assert alias == version
        # one GTO stage: in it here; several at once: the latest is current (docs/data.md)
        assert current.lower() == (stage if len(held[n]) == 1 else held[n][-1]).lower()
    assert ours[str(shown["version"])][0] == max(n for n, _, _ in ours.values())


def test_import_with_data_matches_gto_show(local: Client, gto_repo: Path) -> None:
    shas = subprocess.run(
        ["git", "rev-list", "--reverse", "HEAD"], cwd=gto_repo, capture_output=True, text=True
    ).stdout.split()
    report = local.import_gto(gto_repo)
    assert sorted(report.created) == ["churn", "old"] and not report.missing
    assert [(m, v, n) for m, v, n in report.versions if m == "churn"] == [
        ("churn", "v1.0.0", 1),
        ("churn", "v1.1.0", 2),
    ]
    _compare(local, gto_repo)
    assert _registry(local, "churn") == {
        "v1.0.0": (1, "prod", "v1.0.0"),
        "v1.1.0": (2, "dev", "v1.1.0"),
    }
    model = local.get_model("churn")
    assert model.description == "Churn model"
    assert model.tags == {"gto.label.tabular": "true", "gto.label.xgb": "true"}
    # GTO's stages join the policy's; staging is the policy's Staging (matched without case)
    assert local.get_policy("churn").stages == [
        "None",
        "Staging",
        "Production",
        "Archived",
        "dev",
        "prod",
    ]
    assert local.get_model("old").tags["gto.deprecated"] == "true"

    v2 = local.get_version("churn/2")
    assert v2.commit == shas[1]
    assert v2.metrics == {"auc": pytest.approx(0.82)}
    assert {d.name: d.digest.split(":")[0] for d in v2.datasets} == {
        "data.csv": "md5",
        "train.py": "md5",
    }
    files = {f.path: f for f in v2.files}
    assert (local.materialize(v2.files) / "churn.pkl").read_text() == "weights of 2 rows"
    assert set(files) == {"churn.pkl"}

    # imported history: GTO's tagger and date, marked imported; the chain verifies
    moves = [e for e in local.events(model="churn") if e.kind == "transition_done"]
    assert [e.payload["tag"] for e in moves] == [
        "churn#dev#1",
        "churn#staging#2",
        "churn#dev#3",
        "churn#prod#4",
        "churn#dev!#5",
    ]
    assert all(e.actor == "Test" and e.payload["imported"] == "gto" for e in moves)
    assert moves[0].time == (T0 + 10) * 1000
    assert local.verify_audit().ok

    # complete versions move on through the usual gates
    assert local.promote("churn", 2, "prod").status == "done"


def test_import_twice_changes_nothing_and_new_tags_import(local: Client, gto_repo: Path) -> None:
    local.import_gto(gto_repo)
    before = len(local.events())
    again = local.import_gto(gto_repo)
    assert (again.created, again.versions, again.moves) == ([], [], 0)
    assert len(local.events()) == before

    # new tags, made by the real gto (dated now): a version at HEAD and a stage move
    dvcrepo.tool(gto_repo, dvcrepo.GTO, "register", "churn", "--version", "v1.2.0")
    dvcrepo.tool(gto_repo, dvcrepo.GTO, "assign", "churn", "--version", "v1.1.0", "--stage", "qa")
    more = local.import_gto(gto_repo)
    assert more.versions == [("churn", "v1.2.0", 3)] and more.moves == 1
    _compare(local, gto_repo)
    assert _registry(local, "churn")["v1.1.0"] == (2, "qa", "v1.1.0")
    assert local.get_version("churn@v1.2.0").version == 3
    assert local.verify_audit().ok


def test_import_without_data_records_external_versions(local: Client, gto_repo: Path) -> None:
    report = local.import_gto(gto_repo, data=False)
    assert set(report.missing) == {"churn/1", "churn/2", "old/1"}
    assert report.missing["churn/1"][0].startswith("files")
    v = local.get_version("churn/1")
    assert v.artifact_digest == EXTERNAL_DIGEST
    # the DVC remote (the template's, which the copy's .dvc/config names) and the lock's md5
    md5 = _lock_md5(gto_repo, v.commit)
    assert v.tags["mlpipex.external"].endswith(f"/remote#md5:{md5}")
    assert v.tags[MISSING_TAG] == "files"
    _compare(local, gto_repo)
    with pytest.raises(PolicyViolation) as exc:
        local.promote("churn", 1, "staging")
    assert exc.value.reasons == ["complete: the version lacks files"]
    assert local.verify_audit().ok

    # imported again with the data: the external versions get their files and can move on
    done = local.import_gto(gto_repo)
    assert sorted(done.completed) == ["churn/1", "churn/2", "old/1"] and not done.missing
    assert (done.versions, done.moves) == ([], 0)
    v = local.get_version("churn/1")
    assert v.artifact_digest != EXTERNAL_DIGEST and MISSING_TAG not in v.tags
    assert (local.materialize(v.files) / "churn.pkl").read_text() == "weights of 1 rows"
    assert local.promote("churn", 1, "staging").status == "done"
    assert local.import_gto(gto_repo).completed == []
    assert local.verify_audit().ok


def test_policy_without_files_keeps_external_versions_promotable(
    local: Client, gto_repo: Path
) -> None:
    off = {"commit": False, "dataset": False, "metrics": False, "files": False}
    local.create_model("churn", policy={"require": off})
    report = local.import_gto(gto_repo, data=False)
    assert "churn/1" not in report.missing and "old/1" in report.missing
    assert local.promote("churn", 1, "Production").status == "done"
    with pytest.raises(Invalid, match="external reference"):
        local.load_model("models:/churn/1")


def test_an_import_passing_a_quota_writes_nothing(local: Client, gto_repo: Path) -> None:
    local.create_workspace("team-a")
    local.set_quotas("team-a", Quotas(models=1))
    settings = local.settings
    with Client(settings.uri, objects=settings.objects, workspace="team-a") as team:
        # the second model would pass the models quota: counted as it was before the import
        with pytest.raises(
            QuotaExceeded, match="limited to 1 models and holds 1; this would add 1"
        ):
            team.import_gto(gto_repo, data=False)
        local.set_quotas("team-a", Quotas(versions=2))
        events = len(team.events())
        # churn's two versions fit; old's is the third: the import is refused whole
        with pytest.raises(QuotaExceeded, match="limited to 2 versions"):
            team.import_gto(gto_repo, data=False)
        assert team.list_models().items == [] and len(team.events()) == events
        local.set_quotas("team-a", Quotas(versions=3, bytes=20))
        assert sorted(team.import_gto(gto_repo, data=False).created) == ["churn", "old"]

        # completing the external versions adds their bytes (17 each): refused whole too
        with pytest.raises(QuotaExceeded, match="limited to 20 bytes"):
            team.import_gto(gto_repo)
        assert all("mlpipex.external" in v.tags for v in team.list_versions("churn").items)
        assert local.workspace_usage("team-a").bytes == 0
        local.set_quotas("team-a", Quotas())
        assert len(team.import_gto(gto_repo).completed) == 3
        assert team.verify_audit().ok
    assert local.list_models().items == []  # none of it in the default workspace


def test_refused_through_a_server(server: tuple[str, str, str], gto_repo: Path) -> None:
    url, db, objects = server
    _reset(db)
    with Client(url, objects=objects) as c:
        with pytest.raises(Invalid, match="does not run through a server"):
            c.import_gto(gto_repo)
        assert c.list_models().items == []


def _lock_md5(repo: Path, rev: str) -> str:
    import yaml

    text = subprocess.run(
        ["git", "show", f"{rev}:dvc.lock"], cwd=repo, capture_output=True, text=True
    ).stdout
    outs = yaml.safe_load(text)["stages"]["train"]["outs"]
    return str(next(o["md5"] for o in outs if o["path"] == "models/churn.pkl"))


def test_cli(cli: Callable[..., CliResult], gto_repo: Path, tmp_path: Path) -> None:
    env = {
        "MLPIPEX_URI": str(tmp_path / "reg" / ".mlpipex"),
        "MLPIPEX_OBJECTS": str(tmp_path / "o"),
    }
    r = cli("models", "import-gto", "--repo", str(gto_repo), "--no-data", env=env)
    assert r.code == 0, r.err
    assert "churn/2  v1.1.0" in r.out
    assert "churn/1 cannot be promoted until completed; it lacks: files" in r.out
    r = cli("models", "import-gto", "--repo", str(tmp_path), env=env)
    assert r.code == 1 and "is not a git repository" in r.err
    assert cli("audit", "--verify", env=env).code == 0
    r = cli("promote", "churn", "1", "--to", "Staging", env=env)
    assert r.code == 1 and "lacks files" in r.err


def test_cli_refuses_an_import_past_a_quota(
    cli: Callable[..., CliResult], gto_repo: Path, tmp_path: Path
) -> None:
    env = {"MLPIPEX_URI": str(tmp_path / ".mlpipex"), "MLPIPEX_USER": "root"}
    assert cli("workspace", "create", "team-a", env=env).code == 0
    assert cli("workspace", "quota", "team-a", "--models", "1", env=env).code == 0
    r = cli("-w", "team-a", "models", "import-gto", "--repo", str(gto_repo), "--no-data", env=env)
    assert r.code == 5 and "limited to 1 models" in r.err
    assert "workspace quota team-a" in r.err  # says what to do
    assert "churn" not in cli("-w", "team-a", "models", "list", env=env).out
