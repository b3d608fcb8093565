"""checkout: restores from the cache; refuses to lose changes or to use a corrupt object."""

from __future__ import annotations

from pathlib import Path

from mlpipex.objects import hash_file
from tests.data.conftest import Run, commit, git, write


def test_checkout_follows_the_pointer_across_commits(repo: Path, mpx: Run) -> None:
    write(repo / "data" / "a.txt", "v1")
    assert mpx("data", "add", "data") == 0
    commit(repo, "v1")
    write(repo / "data" / "a.txt", "v2")
    write(repo / "data" / "b.txt", "extra")
    assert mpx("data", "add", "data") == 0
    commit(repo, "v2")
    git(repo, "checkout", "-q", "HEAD~1")
    assert mpx("data", "checkout") == 0
    assert (repo / "data" / "a.txt").read_text() == "v1"
    assert not (repo / "data" / "b.txt").exists()
    git(repo, "checkout", "-q", "main")
    assert mpx("data", "checkout") == 0
    assert (repo / "data" / "b.txt").read_text() == "extra"


def test_checkout_restores_deleted_and_refuses_to_lose_changes(repo: Path, mpx: Run) -> None:
    write(repo / "data" / "a.txt", "keep")
    write(repo / "data" / "b.txt", "bee")
    assert mpx("data", "add", "data") == 0
    (repo / "data" / "a.txt").unlink()
    write(repo / "data" / "b.txt", "unsaved edit")
    assert mpx("data", "checkout") == 5
    assert (repo / "data" / "b.txt").read_text() == "unsaved edit"
    assert not (repo / "data" / "a.txt").exists()
    assert mpx("data", "checkout", "--force") == 0
    assert (repo / "data" / "a.txt").read_text() == "keep"
    assert (repo / "data" / "b.txt").read_text() == "bee"


def test_corrupt_cache_object_is_an_error_and_nothing_is_overwritten(repo: Path, mpx: Run) -> None:
    assert mpx("data", "config", "link", "copy") == 0
    f = write(repo / "a.txt", "good")
    assert mpx("data", "add", "a.txt") == 0
    digest = hash_file(f)[0]
    obj = repo / ".mlpipex" / "cache" / digest[:2] / digest[2:]
    obj.chmod(0o644)
    obj.write_text("evil")
    f.unlink()
    write(repo / "b.txt", "other")
    assert mpx("data", "add", "b.txt") == 0
    (repo / "b.txt").unlink()
    assert mpx("data", "checkout") == 1  # Corrupt
    assert not f.exists() and not (repo / "b.txt").exists()  # not even the good one
