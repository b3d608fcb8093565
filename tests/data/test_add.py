"""data add and data status: pointers, .gitignore, the cache, the stat cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from mlpipex.data import build as build_module
from mlpipex.domain.pointer import read_reference
from mlpipex.objects import hash_file
from tests.data.conftest import Run, write


def _tree(root: Path) -> None:
    for i in range(5):
        write(root / "data" / f"part{i}.csv", f"row {i}\n")
    write(root / "data" / "sub" / "deep.txt", "deep\n")


def test_add_directory_writes_pointer_gitignore_and_cache(repo: Path, mpx: Run) -> None:
    _tree(repo)
    assert mpx("data", "add", "data") == 0
    (out,) = read_reference((repo / "data.mpx").read_text(), "data.mpx")
    assert (out.path, out.nfiles, out.size, out.isdir) == ("data", 6, 35, True)
    assert out.digest.algo == "blake3"
    assert "/data" in (repo / ".gitignore").read_text().splitlines()
    cache = repo / ".mlpipex" / "cache"
    d = out.digest.hex
    assert (cache / d[:2] / d[2:]).is_file()  # the manifest is an object
    fd = hash_file(repo / "data" / "sub" / "deep.txt")[0]
    obj = cache / fd[:2] / fd[2:]
    assert obj.read_text() == "deep\n"
    assert not os.access(obj, os.W_OK) or os.stat(obj).st_mode & 0o222 == 0  # read-only


def test_add_file_in_subfolder_links_by_hardlink(repo: Path, mpx: Run) -> None:
    f = write(repo / "models" / "m.bin", "weights")
    assert mpx("data", "add", "models/m.bin") == 0
    data = yaml.safe_load((repo / "models" / "m.bin.mpx").read_text())
    assert data["outs"][0]["path"] == "m.bin"
    assert data["outs"][0]["nfiles"] == 1
    assert "/m.bin" in (repo / "models" / ".gitignore").read_text()
    assert f.stat().st_nlink == 2  # the default link order on ext4: hardlink


def test_copy_link_type_keeps_workspace_files_independent(repo: Path, mpx: Run) -> None:
    assert mpx("data", "config", "link", "copy") == 0
    f = write(repo / "a.txt", "alpha")
    assert mpx("data", "add", "a.txt") == 0
    assert f.stat().st_nlink == 1
    assert mpx("data", "config", "link", "symlink") == 1


def test_status_reports_changes_without_rehashing(
    repo: Path, mpx: Run, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(repo)
    write(repo / "single.txt", "one")
    assert mpx("data", "add", "data", "single.txt") == 0
    capsys.readouterr()
    hashed: list[str] = []
    real = build_module.hash_file
    monkeypatch.setattr(
        build_module,
        "hash_file",
        lambda p, progress=None: (hashed.append(str(p)), real(p, progress))[1],
    )
    assert mpx("data", "status") == 0
    assert "up to date" in capsys.readouterr().out
    assert hashed == []

    write(repo / "data" / "part1.csv", "changed\n")
    write(repo / "data" / "new.csv", "new\n")
    (repo / "data" / "part2.csv").unlink()
    (repo / "single.txt").unlink()
    assert mpx("data", "status") == 0
    lines = capsys.readouterr().out.split("\n")
    assert [line.split() for line in lines if line] == [
        ["modified:", "data/part1.csv"],
        ["new:", "data/new.csv"],
        ["deleted:", "data/part2.csv"],
        ["deleted:", "single.txt"],
    ]
    assert sorted(Path(p).name for p in hashed) == ["new.csv", "part1.csv"]


def test_in_place_edit_of_a_hardlinked_file_drops_the_corrupt_object(repo: Path, mpx: Run) -> None:
    f = write(repo / "a.txt", "first")
    assert mpx("data", "add", "a.txt") == 0
    first = hash_file(f)[0]
    with open(f, "w") as fh:  # root ignores the read-only bit: this writes into the cache too
        fh.write("second")
    assert mpx("data", "status") == 0
    assert not (repo / ".mlpipex" / "cache" / first[:2] / first[2:]).exists()


def test_add_refuses_overlaps_and_missing_paths(repo: Path, mpx: Run) -> None:
    _tree(repo)
    assert mpx("data", "add", "data") == 0
    assert mpx("data", "add", "data/sub") == 1
    assert mpx("data", "add", "nothing") == 4
    assert mpx("data", "add", "data.mpx") == 1


def test_many_files_are_hashed_in_processes_with_the_same_result(
    repo: Path, mpx: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(200):
        write(repo / "data" / f"{i:03}.txt", f"file {i}\n")
    assert mpx("data", "config", "jobs", "1") == 0
    assert mpx("data", "add", "data") == 0
    serial = (repo / "data.mpx").read_text()
    (repo / ".mlpipex" / "state.db").unlink()
    for p in (repo / ".mlpipex" / "cache").rglob("*"):
        if p.is_file():
            p.unlink()
    monkeypatch.setattr(build_module, "_FORK_ABOVE", 50)
    monkeypatch.setattr(build_module, "_FORK_CHUNK", 32)
    assert mpx("data", "config", "jobs", "2") == 0
    assert mpx("data", "add", "data") == 0
    assert (repo / "data.mpx").read_text() == serial
    shutil.rmtree(repo / "data")
    assert mpx("data", "checkout") == 0  # every object made it into the cache
    assert (repo / "data" / "123.txt").read_text() == "file 123\n"
