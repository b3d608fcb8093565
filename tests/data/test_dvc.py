"""DVC repositories: import-dvc converts pointers, pipeline, lock and cache (DVC 3 layout)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from mlpipex.domain.pointer import read_reference
from tests.data.conftest import Run, write


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _cache(repo: Path, md5: str, data: bytes) -> None:
    path = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _dvc_repo(repo: Path) -> dict[str, bytes]:
    files = {"a.csv": b"1,2\n", "sub/b.csv": b"3,4\n"}
    rows = []
    for rel, data in files.items():
        write(repo / "data" / rel, data.decode())
        _cache(repo, _md5(data), data)
        rows.append({"md5": _md5(data), "relpath": rel})
    listing = json.dumps(rows).encode()
    dir_md5 = _md5(listing)
    _cache(repo, dir_md5 + ".dir", listing)
    write(
        repo / "data.dvc",
        f"outs:\n- md5: {dir_md5}.dir\n  size: 8\n  nfiles: 2\n  hash: md5\n  path: data\n",
    )
    model = b"model bytes"
    _cache(repo, _md5(model), model)
    write(repo / "model.pkl", model.decode())
    write(
        repo / "dvc.yaml",
        yaml.safe_dump(
            {
                "stages": {
                    "train": {
                        "cmd": "cat data/a.csv > model.pkl",
                        "deps": ["data"],
                        "outs": ["model.pkl"],
                        "desc": "dropped on import",
                    }
                }
            }
        ),
    )
    write(
        repo / "dvc.lock",
        yaml.safe_dump(
            {
                "schema": "2.0",
                "stages": {
                    "train": {
                        "cmd": "cat data/a.csv > model.pkl",
                        "deps": [{"path": "data", "hash": "md5", "md5": dir_md5 + ".dir"}],
                        "outs": [
                            {
                                "path": "model.pkl",
                                "hash": "md5",
                                "md5": _md5(model),
                                "size": len(model),
                            }
                        ],
                    }
                },
            }
        ),
    )
    return files


def test_dvc_files_are_dataset_references(repo: Path) -> None:
    _dvc_repo(repo)
    (out,) = read_reference((repo / "data.dvc").read_text(), "data.dvc")
    assert out.digest.algo == "md5" and out.isdir and out.nfiles == 2
    (lock_out,) = read_reference((repo / "dvc.lock").read_text(), "dvc.lock")
    assert (lock_out.path, str(lock_out.digest)) == ("model.pkl", f"md5:{_md5(b'model bytes')}")


def test_import_dvc_converts_and_keeps_working(
    repo: Path, tmp_path: Path, mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _dvc_repo(repo)
    assert mpx("data", "import-dvc") == 0
    assert not (repo / "data.dvc").exists()
    (out,) = read_reference((repo / "data.mpx").read_text(), "data.mpx")
    assert out.digest.algo == "blake3" and out.nfiles == 2
    assert yaml.safe_load((repo / "mlpipex.yaml").read_text())["stages"]["train"] == {
        "cmd": "cat data/a.csv > model.pkl",
        "deps": ["data"],
        "outs": ["model.pkl"],
    }
    capsys.readouterr()
    assert mpx("data", "status") == 0
    assert "up to date" in capsys.readouterr().out
    assert mpx("repro") == 0  # the converted lock holds: nothing runs
    assert "is up to date" in capsys.readouterr().out
    # the data now lives in MLPipeX's cache: delete it and check it out again
    for rel in files:
        (repo / "data" / rel).unlink()
    assert mpx("data", "checkout") == 0
    assert all((repo / "data" / rel).read_bytes() == data for rel, data in files.items())


def test_import_dvc_refuses_a_corrupt_dvc_cache(repo: Path, mpx: Run) -> None:
    _dvc_repo(repo)
    md5 = _md5(b"1,2\n")
    path = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    path.write_bytes(b"tampered")
    assert mpx("data", "import-dvc") == 1
    assert (repo / "data.dvc").exists() and not (repo / "data.mpx").exists()
