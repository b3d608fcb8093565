"""Objects on S3: an S3-compatible server (moto's server mode) on loopback, real s3fs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from mlpipex.errors import Corrupt
from mlpipex.objects.remote import FsspecStore
from tests.conftest import CliResult, free_port, register_args, start_server, stop_server

pytestmark = pytest.mark.slow  # starts processes


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "moto server did not start"
            time.sleep(0.1)
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import s3fs

    # fsspec caches filesystems by their arguments, and the endpoint comes from the environment:
    # an instance made against an earlier module's (stopped) server would be handed back here.
    s3fs.S3FileSystem.clear_instance_cache()
    s3fs.S3FileSystem(anon=False).mkdir("mlpipex-test")
    yield env
    s3fs.S3FileSystem.clear_instance_cache()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    proc.terminate()
    proc.wait(timeout=20)


def test_object_store_on_s3(s3: dict[str, str], tmp_path: Path) -> None:
    store = FsspecStore("s3://mlpipex-test/objects")
    src = tmp_path / "m.bin"
    src.write_bytes(os.urandom(3 * 1024 * 1024))
    e = store.put_file(src)
    assert store.exists(e.digest) and store.missing([e.digest, "f" * 64]) == {"f" * 64}
    assert store.read_bytes(e.digest) == src.read_bytes()
    store.get_file(e.digest, tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()
    assert list(store.iter_digests()) == [e.digest]
    assert store.put_file(src).digest == e.digest  # stored once
    store.fs.pipe_file(store.path(e.digest), b"tampered")
    with pytest.raises(Corrupt):
        store.read_bytes(e.digest)
    assert store.verify(e.digest) is False


def test_missing_asks_s3_once_for_many_digests(s3: dict[str, str]) -> None:
    store = FsspecStore("s3://mlpipex-test/batch")
    stored = [store.put_bytes(f"object {i}".encode()) for i in range(20)]
    absent = [f"{i:064x}" for i in range(20)]
    calls = {"exists": 0, "find": 0}
    fs = store.fs
    real_exists, real_find = fs.exists, fs.find

    def exists(path: str, **kw: object) -> bool:
        calls["exists"] += 1
        return bool(real_exists(path, **kw))

    def find(path: str, **kw: object) -> object:
        calls["find"] += 1
        return real_find(path, **kw)

    fs.exists, fs.find = exists, find  # type: ignore[method-assign]
    try:
        assert store.missing(stored + absent) == set(absent)
        assert calls == {"exists": 0, "find": 1}
        assert store.missing([stored[0], absent[0]]) == {absent[0]}  # a few: asked directly
    finally:
        fs.exists, fs.find = real_exists, real_find  # type: ignore[method-assign]
    info = store.info(stored[0])
    assert info.size == len(b"object 0") and info.mtime > 0


def test_server_with_s3_objects(
    s3: dict[str, str], tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    proc, url = start_server(str(tmp_path / ".mlpipex"), "s3://mlpipex-test/server", env=s3)
    try:
        model = tmp_path / "model.bin"
        model.write_bytes(os.urandom(200_000))
        data = tmp_path / "train.csv"
        data.write_text("x\n1\n")
        env = {"MLPIPEX_URI": url, "MLPIPEX_USER": "alice"}
        r = cli(*register_args(model, data), env=env)
        assert r.code == 0, r.err
        digest = FsspecStore("s3://mlpipex-test/server").read_bytes
        shown = cli("show", "fraud/1", "--json", env=env)
        import json

        (f,) = json.loads(shown.out)["files"]
        assert digest(f["digest"]) == model.read_bytes()
    finally:
        stop_server(proc)
