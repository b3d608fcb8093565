"""push, fetch, pull against a local remote; a fresh clone gets byte-identical data."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from mlpipex.objects.local import LocalStore
from tests.data.conftest import Run, commit, git, write


def _data(repo: Path) -> None:
    for i in range(300):  # past the threshold where the remote is listed instead of asked
        write(repo / "data" / f"{i:03}.txt", f"line {i}\n" * (i + 1))
    write(repo / "model.bin", "weights" * 1000)


def _objects(remote: Path) -> set[str]:
    return set(LocalStore(str(remote)).iter_digests())


def test_push_then_pull_in_a_fresh_clone(
    repo: Path, tmp_path: Path, mpx: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    _data(repo)
    remote = tmp_path / "remote"
    assert mpx("data", "add", "data", "model.bin") == 0
    assert mpx("data", "remote", "add", "origin", str(remote)) == 0
    assert mpx("data", "push") == 0
    assert len(_objects(remote)) == 302  # 300 files + model + manifest
    commit(repo, "data")

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    monkeypatch.chdir(clone)
    assert (clone / ".mlpipex" / "config.yaml").exists()  # the remote came along in git
    assert not (clone / "data").exists()
    assert mpx("data", "pull") == 0
    assert (
        filecmp.cmpfiles(
            repo / "data", clone / "data", [f"{i:03}.txt" for i in range(300)], shallow=False
        )[0].__len__()
        == 300
    )
    assert (clone / "model.bin").read_bytes() == (repo / "model.bin").read_bytes()
    assert mpx("data", "status") == 0
    assert mpx("data", "pull") == 0  # nothing to do twice


def test_interrupted_push_resumes_without_resending(
    repo: Path, tmp_path: Path, mpx: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    _data(repo)
    remote = tmp_path / "remote"
    assert mpx("data", "add", "data") == 0
    assert mpx("data", "remote", "add", "origin", str(remote)) == 0
    assert mpx("data", "config", "jobs", "1") == 0
    real = LocalStore.put_file
    sent: list[str] = []

    def interrupted(self: LocalStore, src: str, **kw: object) -> object:
        if len(sent) == 120:
            raise KeyboardInterrupt
        sent.append(str(kw["digest"]))
        return real(self, src, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalStore, "put_file", interrupted)
    assert mpx("data", "push", "-j", "1") == 130
    assert len(_objects(remote)) == 120

    def counted(self: LocalStore, src: str, **kw: object) -> object:
        sent.append(str(kw["digest"]))
        return real(self, src, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalStore, "put_file", counted)
    before = len(sent)
    assert mpx("data", "push") == 0
    resent = sent[before:]
    assert len(resent) == 301 - 120 and not set(resent) & set(sent[:before])
    assert len(_objects(remote)) == 301


def test_fetch_names_what_the_remote_lacks(repo: Path, tmp_path: Path, mpx: Run) -> None:
    write(repo / "a.txt", "alpha")
    assert mpx("data", "add", "a.txt") == 0
    assert mpx("data", "fetch") == 0  # everything is cached: no remote needed
    for p in (repo / ".mlpipex" / "cache").rglob("*"):
        if p.is_file():
            p.unlink()
    assert mpx("data", "fetch") == 4  # no remote yet
    assert mpx("data", "remote", "add", "origin", str(tmp_path / "empty")) == 0
    assert mpx("data", "remote", "add", "origin", str(tmp_path / "other")) == 5
    assert mpx("data", "fetch") == 4
