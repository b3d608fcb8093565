from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Connection

from mlpipex.client import Client
from mlpipex.domain.models import DatasetRef, ModelVersion
from mlpipex.errors import Conflict, Invalid, NotFound, PolicyViolation
from mlpipex.service.registry import register
from tests.conftest import Backend


@pytest.mark.direct
def test_refusal_names_every_missing_field_and_stores_nothing(
    client: Client, make_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not a git checkout: no commit to detect
    with pytest.raises(PolicyViolation) as exc:
        client.register("fraud", make_file(size=100_000))
    assert [r.split(" ")[0] for r in exc.value.reasons] == ["commit", "dataset", "metric"]
    assert list(client.registry.objects.iter_digests()) == []
    with pytest.raises(NotFound):
        client.get_model("fraud")
    (refused,) = client.events(kind="registration_refused")
    assert refused.model == "fraud" and "commit" in refused.reason


@pytest.mark.direct
def test_complete_registration_records_commit_datasets_metrics_and_files(
    client: Client, make_file: Callable[..., Path]
) -> None:
    data = make_file("train.csv", content=b"a,b\n1,2\n")
    model = make_file("model.skops", size=50_000)
    v = client.register(
        "fraud",
        model,
        commit="c0ffee" * 6 + "abcd",
        metrics={"auc": 0.93},
        datasets={"train": str(data), "ext": "s3://bucket/x.parquet#md5:" + "f" * 32},
        tags={"team": "risk"},
        description="first",
    )
    assert v.version == 1 and v.stage == "None"
    assert v.metrics == {"auc": 0.93} and v.tags == {"team": "risk"}
    refs = {d.name: d for d in v.datasets}
    assert refs["train"].size == 8 and refs["train"].digest.startswith("blake3:")
    assert refs["ext"].uri == "s3://bucket/x.parquet" and refs["ext"].digest == "md5:" + "f" * 32
    (f,) = v.files
    assert (f.path, f.size) == ("model.skops", 50_000)
    assert client.registry.objects.read_bytes(f.digest) == model.read_bytes()
    assert client.get_version("fraud/1") == v


@pytest.mark.direct
def test_what_a_caller_writes_beside_a_version_lands_with_it_or_not_at_all(
    client: Client, make_file: Callable[..., Path]
) -> None:
    r = register.Registration(
        "fraud",
        make_file(size=1000),
        commit="c0ffee" * 6 + "abcd",
        metrics={"auc": 0.9},
        datasets=[DatasetRef("train", "s3://bucket/x.parquet", "md5:" + "f" * 32)],
    )
    seen: list[tuple[int, int]] = []

    def refuse(conn: Connection, version_id: int, v: ModelVersion) -> None:
        seen.append((version_id, v.version))
        raise Conflict("the caller's own write failed")

    with pytest.raises(Conflict, match="own write"):
        register.register_version(client.registry, r, also=refuse)
    assert seen == [(seen[0][0], 1)]
    with pytest.raises(NotFound):  # neither the model it created nor the version is left
        client.get_model("fraud")
    assert client.events(kind="version_registered") == []

    def note(conn: Connection, version_id: int, v: ModelVersion) -> None:
        seen.append((version_id, v.version))

    v = register.register_version(client.registry, r, also=note)
    assert v.version == 1 and seen[-1][1] == 1
    assert client.get_version("fraud/1") == v


def test_commit_is_detected_from_git_and_a_dirty_tree_is_recorded(
    client: Client, git_repo: Callable[[Path], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    sha = git_repo(repo)
    (repo / "model.bin").write_bytes(b"m" * 10)
    (repo / "train.csv").write_text("x\n1\n")
    monkeypatch.chdir(repo)
    v = client.register("m", repo / "model.bin", datasets={"train": "train.csv"}, metrics={"a": 1})
    assert (v.commit, v.commit_dirty) == (sha, False)
    (repo / "README").write_text("edited\n")
    v2 = client.register("m", repo / "model.bin", datasets={"train": "train.csv"}, metrics={"a": 1})
    assert (v2.commit, v2.commit_dirty) == (sha, True)
    subprocess.run(["git", "status"], cwd=repo, check=True, capture_output=True)


def test_versions_count_from_one_and_are_never_reused(
    client: Client, make_version: Callable[..., int]
) -> None:
    assert [make_version() for _ in range(3)] == [1, 2, 3]
    assert client.get_model("fraud").last_version == 3
    assert [v.version for v in client.list_versions("fraud").items] == [3, 2, 1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metrics": {"auc": "high"}}, "not a number"),
        ({"metrics": {"auc": float("nan")}}, "NaN"),
        ({"metrics": {"x" * 251: 1.0}}, "metric key"),
        ({"tags": {"k": "v" * 8001}}, "exceeds 8000"),
        ({"datasets": {"train": "s3://bucket/data.parquet"}}, "has no digest"),
        ({"datasets": {"train": "s3://bucket/data.parquet#md5:xyz"}}, "not a digest"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    client: Client, make_file: Callable[..., Path], kwargs: dict[str, object], match: str
) -> None:
    kwargs.setdefault("metrics", {"auc": 0.9})
    kwargs.setdefault("datasets", {"train": str(make_file("d.csv", content=b"1"))})
    with pytest.raises(Invalid, match=match):
        client.register("fraud", make_file(), commit="abc", **kwargs)  # type: ignore[arg-type]
    assert client.list_models().items == []


def test_missing_artifact_or_dataset_path_is_not_found(
    client: Client, tmp_path: Path, make_file: Callable[..., Path]
) -> None:
    with pytest.raises(NotFound):
        client.register(
            "fraud",
            tmp_path / "nope.bin",
            commit="a",
            metrics={"a": 1},
            datasets={"t": str(make_file())},
        )
    with pytest.raises(NotFound, match="does not exist"):
        client.register(
            "fraud",
            make_file(),
            commit="a",
            metrics={"a": 1},
            datasets={"t": str(tmp_path / "missing.csv")},
        )


def test_a_directory_artifact_is_a_manifest(
    client: Client, tmp_path: Path, make_file: Callable[..., Path]
) -> None:
    d = tmp_path / "pkg"
    (d / "sub").mkdir(parents=True)
    (d / "MLmodel").write_text("flavors: {}\n")
    (d / "sub" / "weights.bin").write_bytes(b"w" * 1000)
    v = client.register("pkg", d, commit="a", metrics={"a": 1}, datasets={"t": str(make_file())})
    assert [(f.path, f.size) for f in v.files] == [("MLmodel", 12), ("sub/weights.bin", 1000)]
    assert v.artifact_size == 1012


@pytest.mark.direct
def test_permissive_policy_registers_without_metadata(
    backend: Backend,
    make_file: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLPIPEX_POLICY", "permissive")
    with Client(backend.uri, objects=backend.objects) as c:
        assert c.register("free", make_file()).version == 1


def test_a_models_policy_can_require_tags(client: Client, make_file: Callable[..., Path]) -> None:
    client.create_model("governed", policy={"require": {"tags": ["owner"]}})
    with pytest.raises(PolicyViolation, match="tag 'owner'"):
        client.register(
            "governed", make_file(), commit="a", metrics={"a": 1}, datasets={"t": str(make_file())}
        )
    v = client.register(
        "governed",
        make_file(),
        commit="a",
        metrics={"a": 1},
        datasets={"t": str(make_file())},
        tags={"owner": "risk-team"},
    )
    assert v.version == 1
