"""gc keeps what the working tree references, and with --all-commits what any commit does."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipex.objects.local import LocalStore
from tests.data.conftest import Run, commit, write


def _count(repo: Path) -> int:
    return len(list(LocalStore(str(repo / ".mlpipex" / "cache")).iter_digests()))


def test_gc_all_commits_keeps_history(repo: Path, mpx: Run) -> None:
    write(repo / "data" / "a.txt", "v1")
    assert mpx("data", "add", "data") == 0
    commit(repo, "v1")
    write(repo / "data" / "a.txt", "v2")
    assert mpx("data", "add", "data") == 0
    commit(repo, "v2")
    write(repo / "data" / "a.txt", "v3 never committed")
    assert mpx("data", "add", "data") == 0
    assert _count(repo) == 6  # three manifests and three versions of a.txt
    assert mpx("data", "gc", "--all-commits", "--dry") == 0
    assert _count(repo) == 6
    assert mpx("data", "gc", "--all-commits") == 0
    assert _count(repo) == 6  # v3 is in the working tree, v1 and v2 in commits
    write(repo / "data" / "a.txt", "v4")
    assert mpx("data", "add", "data") == 0
    assert mpx("data", "gc", "--all-commits") == 0
    assert _count(repo) == 6  # v3 went, v4 came
    assert mpx("data", "gc") == 0
    assert _count(repo) == 2  # only v4 and its manifest
    assert mpx("data", "status") == 0


def test_gc_all_commits_needs_git(
    tmp_path: Path, mpx: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "w" / ".mlpipex").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "w")
    assert mpx("data", "gc", "--all-commits") == 1
