"""The floor under a native upload on this machine (issue 19): the same 1 GB PUT, from the same
httpx client, to a bare uvicorn app (uvloop, httptools, as `mlpipex server` runs) that only
receives the body, or receives, hashes and writes it on the event loop, or hands it to a worker
thread as `server/upload.py` does; beside `cp` of the file and `mlpipex server` itself. Median of
--repeat runs each, interleaved.

    python bench/upload_floor.py [--mb 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from _common import machine, table, today
from tests.conftest import free_port, start_server, stop_server

from mlpipex.objects.hashing import hash_file

MODES = ("receive only", "receive, hash, write on the loop", "receive; hash, write in a thread")


def app(mode: str, out: str) -> Any:
    """A bare ASGI app for one mode (imported in the server process)."""
    import blake3

    from mlpipex.objects.store import Readable
    from mlpipex.server.upload import store_body

    def write(body: Readable) -> None:
        h = blake3.blake3()
        with open(out, "wb") as f:
            while chunk := body.read():
                h.update(chunk)
                f.write(chunk)

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if mode == MODES[2]:
            from starlette.requests import Request

            await store_body(Request(scope, receive), write)
        else:
            with open(out, "wb") as f:
                h = blake3.blake3()
                while True:
                    m = await receive()
                    if mode == MODES[1]:
                        h.update(m["body"])
                        f.write(m["body"])
                    if not m.get("more_body"):
                        break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return asgi


def serve(mode: str, port: int, out: str) -> subprocess.Popen[bytes]:
    code = (
        "import sys, uvicorn, upload_floor as u;"
        f"uvicorn.run(u.app({mode!r}, {out!r}), host='127.0.0.1', port={port},"
        " loop='uvloop', http='httptools', log_level='warning')"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.put(f"http://127.0.0.1:{port}/", content=b"", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the bare app did not start")


def put(url: str, src: Path) -> float:
    def chunks() -> Iterator[bytes]:
        with src.open("rb") as f:
            while chunk := f.read(4 * 2**20):
                yield chunk

    start = time.perf_counter()
    httpx.put(url, content=chunks(), timeout=600).raise_for_status()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlpipex-floor-") as d:
        src, out = Path(d) / "big.bin", str(Path(d) / "out.bin")
        with src.open("wb") as f:
            for _ in range(args.mb):
                f.write(os.urandom(2**20))
        ours = "mlpipex server, PUT /api/v1/objects/DIGEST"
        digest = hash_file(str(src))[0]
        times: dict[str, list[float]] = {m: [] for m in ("cp", *MODES, ours)}
        for _ in range(args.repeat):  # interleaved, so load changes hit every mode alike
            start = time.perf_counter()
            subprocess.run(["cp", str(src), out], check=True)
            times["cp"].append(time.perf_counter() - start)
            os.unlink(out)
            for mode in MODES:
                port = free_port()
                proc = serve(mode, port, out)
                try:
                    times[mode].append(put(f"http://127.0.0.1:{port}/", src))
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                if os.path.exists(out):
                    os.unlink(out)
            server, url = start_server(f"{d}/reg/.mlpipex", f"{d}/reg/objects")
            try:
                times[ours].append(put(f"{url}/api/v1/objects/{digest}", src))
            finally:
                stop_server(server)
            os.unlink(f"{d}/reg/objects/{digest[:2]}/{digest[2:]}")
    cp = statistics.median(times["cp"])
    rows = [
        [m, f"{statistics.median(t):.2f}", f"{statistics.median(t) / cp:.2f}x"]
        for m, t in times.items()
    ]
    print(f"# upload floor, {args.mb} MB — {machine()} — {today()}; median of {args.repeat}\n")
    print(table(["what", "seconds", "/ cp"], rows))


if __name__ == "__main__":
    main()
