"""The remote client's upload: a file sent in chunks arrives whole, with the disk asked to read
the next chunks while one is sent (so a cold upload does not wait for the disk per chunk); a
large file registered through a server is read once, unhashed, and named by the server."""

from __future__ import annotations

import os
from pathlib import Path

import blake3
import pytest

from mlpipex.client import Client, remote
from mlpipex.client.http import CHUNK, Http
from mlpipex.domain.api import StoredObject
from mlpipex.objects import manifest
from mlpipex.objects.hashing import Progress
from tests.conftest import _reset


def test_an_upload_reads_ahead_of_what_it_sends_and_arrives_whole(
    tmp_path: Path, server: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _, objects = server
    src = tmp_path / "model.bin"
    data = os.urandom(2 * CHUNK + 1000)
    src.write_bytes(data)
    digest = blake3.blake3(data).hexdigest()
    asked: list[tuple[int, int]] = []  # (offset asked for, bytes sent by then)
    sent: list[int] = []

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        if advice == os.POSIX_FADV_WILLNEED:
            asked.append((offset, sum(sent)))
        real(fd, offset, length, advice)

    real = os.posix_fadvise
    monkeypatch.setattr(os, "posix_fadvise", fadvise)
    client = Http(url, token=None, user="alice")
    try:
        client.upload(digest, src, sent.append)
    finally:
        client.close()
    assert Path(objects, digest[:2], digest[2:]).read_bytes() == data
    # before each chunk is read, the disk is asked for the chunks after it
    assert asked[:3] == [(CHUNK, 0), (2 * CHUNK, CHUNK), (3 * CHUNK, 2 * CHUNK)]


def test_a_large_file_registered_through_a_server_is_read_once_and_named_by_the_server(
    tmp_path: Path, server: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files from STREAM_MIN up are sent unhashed and named by the server's digest; smaller
    ones are hashed first and sent only when the server lacks them."""
    url, db, objects = server
    _reset(db)
    monkeypatch.setattr(remote, "STREAM_MIN", 1 << 20)
    model = tmp_path / "model"
    model.mkdir()
    big, small = os.urandom(3 * CHUNK // 2), os.urandom(1000)
    (model / "weights.bin").write_bytes(big)
    (model / "config.json").write_bytes(small)
    hashed: list[str] = []
    sent: list[tuple[str, str]] = []
    real_hash, real_put, real_post = manifest.hash_file, Http.upload, Http.upload_unnamed

    def hash_file(path: Path, progress: Progress | None = None) -> tuple[str, int]:
        hashed.append(Path(path).name)
        return real_hash(path, progress)

    def put(self: Http, digest: str, path: Path, progress: Progress | None) -> None:
        sent.append(("PUT", path.name))
        real_put(self, digest, path, progress)

    def post(self: Http, path: Path, progress: Progress | None) -> StoredObject:
        sent.append(("POST", path.name))
        return real_post(self, path, progress)

    monkeypatch.setattr(manifest, "hash_file", hash_file)
    monkeypatch.setattr(Http, "upload", put)
    monkeypatch.setattr(Http, "upload_unnamed", post)
    data = tmp_path / "train.csv"
    data.write_text("x\n1\n")
    expected = {
        "weights.bin": (blake3.blake3(big).hexdigest(), len(big)),
        "config.json": (blake3.blake3(small).hexdigest(), len(small)),
    }
    with Client(url, user="alice") as c:
        for round_ in range(2):
            hashed.clear()
            sent.clear()
            v = c.register(
                "fraud", model, commit="c" * 40, datasets={"train": str(data)}, metrics={"a": 1}
            )
            assert {f.path: (f.digest, f.size) for f in v.files} == expected
            assert "weights.bin" not in hashed and "config.json" in hashed
            # the small file is sent only while the server lacks it; the large one each time
            small_sent = [("PUT", "config.json")] if round_ == 0 else []
            assert sent == [*small_sent, ("POST", "weights.bin")]
    for digest, size in expected.values():
        assert Path(objects, digest[:2], digest[2:]).stat().st_size == size
