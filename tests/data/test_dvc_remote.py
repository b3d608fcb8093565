"""import-dvc with the real dvc: objects the DVC cache lacks come from the DVC remote (both
layouts), checked against their md5; --no-data leaves pointers that `data pull` resolves."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mlpipex.domain.pointer import read_reference
from tests.data import dvcrepo
from tests.data.conftest import Run
from tests.netns import isolated
from tests.objects.test_s3 import s3  # noqa: F401  (the moto S3 server fixture)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("dvc")
    return dvcrepo.build(base / "repo", base / "remote"), base / "remote"


@pytest.fixture
def dvc_repo(
    built: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Path]]:
    """A copy of the built repository and its remote; the remote's URL points at the copy."""
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    shutil.copytree(built[0], repo, symlinks=True)
    shutil.copytree(built[1], remote)
    config = repo / ".dvc" / "config"
    config.write_text(config.read_text().replace(str(built[1]), str(remote)))
    monkeypatch.chdir(repo)
    yield repo, remote


def _same_bytes(repo: Path) -> bool:
    return all((repo / rel).read_bytes() == data for rel, data in dvcrepo.FILES.items())


@pytest.mark.parametrize("layout", ["dvc3", "dvc2"])
def test_import_fetches_what_the_cache_lacks_from_the_dvc_remote(
    dvc_repo: tuple[Path, Path], mpx: Run, layout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, remote = dvc_repo
    if layout == "dvc2":
        dvcrepo.to_dvc2_layout(remote)
    assert mpx("data", "import-dvc") == 0
    # three files and the manifest MLPipeX writes for the folder
    assert "4 object(s) imported, 3 from the DVC remote" in capsys.readouterr().out
    (out,) = read_reference((repo / "data.mpx").read_text(), "data.mpx")
    assert out.digest.algo == "blake3" and out.nfiles == 2
    assert mpx("data", "checkout") == 0
    assert _same_bytes(repo)


def test_a_tampered_remote_object_is_refused(dvc_repo: tuple[Path, Path], mpx: Run) -> None:
    repo, remote = dvc_repo
    victim = next(p for p in (remote / "files").rglob("*") if p.is_file() and p.stat().st_size == 8)
    victim.write_bytes(b"tampered")
    assert mpx("data", "import-dvc") == 1
    converted = [p.name for p in repo.glob("*.mpx")]
    for name in converted:  # whatever was converted holds only verified objects
        assert mpx("data", "checkout", name) == 0


def test_no_data_then_pull_resolves_from_the_recorded_dvc_remote(
    dvc_repo: tuple[Path, Path], mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, remote = dvc_repo
    assert mpx("data", "import-dvc", "--no-data") == 0
    assert not (repo / ".mlpipex" / "cache").exists() or not any(
        (repo / ".mlpipex" / "cache").rglob("*/*")
    )
    (out,) = read_reference((repo / "data.mpx").read_text(), "data.mpx")
    assert out.digest.algo == "md5"
    conf = yaml.safe_load((repo / ".mlpipex" / "config.yaml").read_text())
    assert conf["data"]["dvc_remote"] == str(remote)
    capsys.readouterr()
    assert mpx("data", "pull") == 0  # no MLPipeX remote: the DVC one is enough
    printed = capsys.readouterr().out
    assert "resolved data.mpx" in printed and "3 object(s) fetched, 3 file(s)" in printed
    assert _same_bytes(repo)
    (out,) = read_reference((repo / "data.mpx").read_text(), "data.mpx")
    assert out.digest.algo == "blake3"
    assert mpx("data", "status") == 0


@isolated  # a regression would send the request to AWS itself
def test_import_from_an_s3_dvc_remote_configured_in_dvc_config(
    dvc_repo: tuple[Path, Path],
    s3: dict[str, str],  # noqa: F811  (the imported fixture)
    mpx: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The endpoint comes from .dvc/config and the credentials from .dvc/config.local only."""
    import s3fs

    repo, remote = dvc_repo
    s3fs.S3FileSystem(anon=False).put(str(remote) + "/", "mlpipex-test/dvc/", recursive=True)
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    (repo / ".dvc" / "config").write_text(
        "[core]\n    remote = cloud\n"
        "['remote \"cloud\"']\n    url = s3://mlpipex-test/dvc\n"
        f"    endpointurl = {s3['AWS_ENDPOINT_URL']}\n"
    )
    (repo / ".dvc" / "config.local").write_text(
        "['remote \"cloud\"']\n    access_key_id = AKIDLOCAL\n    secret_access_key = s3cr3t\n"
    )
    shutil.rmtree(remote)  # only S3 has the objects now
    assert mpx("data", "import-dvc") == 0
    assert mpx("data", "checkout") == 0
    assert _same_bytes(repo)
    conf = yaml.safe_load((repo / ".mlpipex" / "config.yaml").read_text())
    assert conf["data"]["dvc_remote"] == "s3://mlpipex-test/dvc"  # no credentials in git
    assert "s3cr3t" not in (repo / ".mlpipex" / "config.yaml").read_text()
