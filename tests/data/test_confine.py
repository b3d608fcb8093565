"""Writes stay inside the workspace: no pointer, stage or cache entry writes through a symbolic
link that leaves it, or into .git, .mlpipex or .dvc; oversized and alias-bomb pointers are
refused with a short message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlpipex.data.workspace import Workspace
from mlpipex.domain.pointer import Digest, PointerOut, dump_pointer
from mlpipex.errors import Invalid
from mlpipex.objects import hash_file
from tests.data.conftest import Run, write


def _evil_pointer(repo: Path, name: str, out_path: str, like: Path) -> None:
    """A pointer (as a cloned repository could hold) naming out_path with like's content."""
    digest = hash_file(like)[0]
    out = PointerOut(out_path, Digest("blake3", digest), like.stat().st_size, 1, False)
    (repo / name).write_text(dump_pointer([out]))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "victim.txt").write_text("precious")
    return path


@pytest.mark.parametrize("command", [("checkout",), ("checkout", "--force"), ("pull",)])
def test_checkout_and_pull_never_write_through_a_linked_folder(
    repo: Path, tmp_path: Path, outside: Path, mpx: Run, command: tuple[str, ...]
) -> None:
    payload = write(repo / "payload.txt", "attacker's bytes")
    assert mpx("data", "add", "payload.txt") == 0
    assert mpx("data", "remote", "add", "origin", str(tmp_path / "remote")) == 0
    assert mpx("data", "push") == 0
    (repo / "link").symlink_to(outside, target_is_directory=True)
    _evil_pointer(repo, "evil.mpx", "link/victim.txt", payload)
    _evil_pointer(repo, "evil2.mpx", "link/new.txt", payload)
    assert mpx("data", *command) == 1
    assert (outside / "victim.txt").read_text() == "precious"
    assert sorted(os.listdir(outside)) == ["victim.txt"]


@pytest.mark.parametrize("target", [".git/config", ".mlpipex/config.yaml", ".dvc/config"])
def test_pointers_naming_git_or_tool_folders_are_refused(repo: Path, mpx: Run, target: str) -> None:
    payload = write(repo / "payload.txt", "[core]\n\tfsmonitor = touch /tmp/pwned\n")
    assert mpx("data", "add", "payload.txt") == 0
    (repo / ".dvc").mkdir(exist_ok=True)
    before = (repo / target).read_text() if (repo / target).exists() else None
    _evil_pointer(repo, "evil.mpx", target, payload)
    assert mpx("data", "checkout", "--force") == 1
    after = (repo / target).read_text() if (repo / target).exists() else None
    assert after == before


def test_add_refuses_a_path_under_a_linked_folder(repo: Path, outside: Path, mpx: Run) -> None:
    (repo / "link").symlink_to(outside, target_is_directory=True)
    assert mpx("data", "add", "link/victim.txt") == 1
    assert sorted(os.listdir(outside)) == ["victim.txt"]  # no pointer, no .gitignore there


def test_gc_refuses_a_linked_cache_folder(repo: Path, outside: Path, mpx: Run) -> None:
    write(repo / "a.txt", "kept")
    assert mpx("data", "add", "a.txt") == 0
    (repo / ".mlpipex" / "cache" / "ff").symlink_to(outside, target_is_directory=True)
    (outside / ("f" * 62)).write_text("looks like an object")
    assert mpx("data", "gc") == 1
    assert (outside / ("f" * 62)).read_text() == "looks like an object"


def test_a_linked_metadata_folder_is_refused(repo: Path, outside: Path, mpx: Run) -> None:
    (repo / ".mlpipex").symlink_to(outside, target_is_directory=True)
    write(repo / "a.txt", "data")
    assert mpx("data", "add", "a.txt") == 1
    assert sorted(os.listdir(outside)) == ["victim.txt"]


def test_repro_never_removes_an_output_through_a_link(repo: Path, outside: Path, mpx: Run) -> None:
    (repo / "link").symlink_to(outside, target_is_directory=True)
    write(
        repo / "mlpipex.yaml",
        "stages:\n  s:\n    cmd: echo hi > out.txt\n    outs: [link/victim.txt]\n",
    )
    assert mpx("repro") == 1
    assert (outside / "victim.txt").read_text() == "precious"


def test_repro_never_removes_git_config(repo: Path, mpx: Run) -> None:
    before = (repo / ".git" / "config").read_text()
    write(repo / "mlpipex.yaml", "stages:\n  s:\n    cmd: 'true'\n    outs: [.git/config]\n")
    assert mpx("repro") == 1
    assert (repo / ".git" / "config").read_text() == before


def test_a_yaml_bomb_pointer_is_refused_in_one_short_line(
    repo: Path, mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 8):  # 10^7 values once expanded
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    lines.append("outs: [{path: x, digest: *a7}]")
    (repo / "bomb.mpx").write_text("\n".join(lines) + "\n")
    assert mpx("data", "status") == 1
    err = capsys.readouterr().err
    assert "expands" in err and len(err) < 1000


def test_an_oversized_pointer_is_refused(
    repo: Path, mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "big.mpx").write_text("# padding\n" * 200_000 + "outs: []\n")
    assert mpx("data", "status") == 1
    assert "larger than" in capsys.readouterr().err


def test_a_bad_value_is_echoed_short(
    repo: Path, mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "long.mpx").write_text(f"outs: [{{path: x, digest: {'z' * 100_000}}}]\n")
    assert mpx("data", "status") == 1
    assert len(capsys.readouterr().err) < 1000


def test_a_link_into_git_is_refused_where_it_really_leads(repo: Path, mpx: Run) -> None:
    payload = write(repo / "payload.txt", "#!/bin/sh\ntouch /tmp/pwned\n")
    assert mpx("data", "add", "payload.txt") == 0
    (repo / "foo").symlink_to(".git", target_is_directory=True)
    hook = repo / ".git" / "hooks" / "post-checkout"
    _evil_pointer(repo, "evil.mpx", "foo/hooks/post-checkout", payload)
    with pytest.raises(Invalid, match=r"\.git/"):
        Workspace.find().dest_str("foo/hooks/post-checkout")
    assert mpx("data", "checkout", "--force") == 1
    assert not hook.exists()


@pytest.mark.parametrize("target", [".GIT/config", "a/.Git/config", "b/.MLPipeX/x", ".Dvc/x"])
def test_reserved_folders_are_refused_in_any_case(repo: Path, target: str) -> None:
    with pytest.raises(Invalid, match="which a pointer or a stage may not write"):
        Workspace.find().dest_str(target)
