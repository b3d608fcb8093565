"""The remote client's upload: a file sent in chunks arrives whole, with the disk asked to read
the next chunks while one is sent (so a cold upload does not wait for the disk per chunk)."""

from __future__ import annotations

import os
from pathlib import Path

import blake3
import pytest

from mlpipex.client.http import CHUNK, Http


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
