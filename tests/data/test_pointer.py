"""domain/pointer.py: .mpx, .dvc, dvc.lock and mlpipex.lock read as dataset references."""

from __future__ import annotations

import pytest

from mlpipex.domain.digest import Digest
from mlpipex.domain.pointer import PointerOut, dump_pointer, read_reference
from mlpipex.errors import Invalid

B3 = "ab" * 32
MD5 = "0123456789abcdef0123456789abcdef"


def test_mpx_round_trip() -> None:
    outs = [PointerOut("data", Digest("blake3", B3), 10, 3, True)]
    assert read_reference(dump_pointer(outs), "sub/data.mpx") == outs


def test_dvc_file_keeps_its_md5() -> None:
    text = f"outs:\n- md5: {MD5}.dir\n  size: 42\n  nfiles: 2\n  hash: md5\n  path: images\n"
    (out,) = read_reference(text, "images.dvc")
    assert out == PointerOut("images", Digest("md5", MD5), 42, 2, True)
    assert str(out.digest) == f"md5:{MD5}"


def test_dvc_lock_outs_of_every_stage() -> None:
    text = f"""schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data
      md5: {MD5}.dir
    outs:
    - path: model.pkl
      hash: md5
      md5: {MD5}
      size: 7
"""
    assert read_reference(text, "dvc.lock") == [PointerOut("model.pkl", Digest("md5", MD5), 7)]


def test_mlpipex_lock_outs() -> None:
    outs = f"    outs:\n    - path: o\n      digest: blake3:{B3}\n"
    text = f"schema: '1'\nstages:\n  a:\n    cmd: x\n{outs}"
    assert read_reference(text, "mlpipex.lock") == [PointerOut("o", Digest("blake3", B3))]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("outs: []", "x.mpx"),
        ("outs:\n- path: x\n", "x.mpx"),
        ("outs:\n- path: ../x\n  digest: " + B3, "x.mpx"),
        ("outs:\n- path: x\n  md5: nothex\n", "x.dvc"),
        ("{{", "x.dvc"),
        ("a: 1", "notes.txt"),
    ],
)
def test_bad_references_are_refused(text: str, name: str) -> None:
    with pytest.raises(Invalid):
        read_reference(text, name)
