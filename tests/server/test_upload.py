"""Uploads through a real server: a body cut off midway leaves nothing stored or recorded, on
the native object PUT, the unnamed object POST and the MLflow artifact proxy alike."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from urllib.parse import urlparse

import blake3
import httpx
import pytest

from tests.conftest import start_server, stop_server

pytestmark = pytest.mark.slow
SIZE = 6 * 2**20  # several of the server's hops between the loop and the writer


def _cut_off(url: str, path: str, data: bytes) -> None:
    """PUT path declaring len(data) bytes, send two thirds of them, then hang up."""
    u = urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        head = f"PUT {path} HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Length: {len(data)}\r\n\r\n"
        s.sendall(head.encode() + data[: len(data) * 2 // 3])
        time.sleep(0.5)  # let the server take in what came before the connection drops


def _stored(objects: Path) -> list[Path]:
    return [p for p in objects.rglob("*") if p.is_file()]


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    proc, url = start_server(str(tmp_path / ".mlpipex"), str(tmp_path / "objects"))
    yield url, tmp_path / "objects"
    stop_server(proc)


def test_a_cut_off_native_upload_stores_nothing(server: tuple[str, Path]) -> None:
    url, objects = server
    data = os.urandom(SIZE)
    digest = blake3.blake3(data).hexdigest()
    _cut_off(url, f"/api/v1/objects/{digest}", data)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _stored(objects):  # the writer may still be unwinding
        time.sleep(0.1)
    assert _stored(objects) == []
    whole = httpx.put(f"{url}/api/v1/objects/{digest}", content=data, timeout=60)
    assert whole.json() == {"digest": digest, "size": SIZE, "stored": True}
    assert [p.name for p in _stored(objects)] == [digest[2:]]


def test_a_cut_off_unnamed_upload_stores_nothing_and_a_whole_one_is_named_by_the_server(
    server: tuple[str, Path],
) -> None:
    url, objects = server
    data = os.urandom(SIZE)
    _cut_off(url, "/api/v1/objects", data)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _stored(objects):
        time.sleep(0.1)
    assert _stored(objects) == []
    digest = blake3.blake3(data).hexdigest()
    for _ in range(2):  # identical bytes sent again are kept once
        whole = httpx.post(f"{url}/api/v1/objects", content=data, timeout=60)
        assert whole.json() == {"digest": digest, "size": SIZE}
        assert [p.name for p in _stored(objects)] == [digest[2:]]


def test_a_cut_off_mlflow_artifact_upload_records_nothing(server: tuple[str, Path]) -> None:
    url, objects = server
    data = os.urandom(SIZE)
    path = "/api/2.0/mlflow-artifacts/artifacts/shared/model.bin"
    _cut_off(url, path, data)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _stored(objects):
        time.sleep(0.1)
    assert _stored(objects) == []
    assert httpx.get(f"{url}{path}", timeout=30).status_code == 404
    assert httpx.put(f"{url}{path}", content=data, timeout=60).status_code == 200
    assert httpx.get(f"{url}{path}", timeout=30).content == data
