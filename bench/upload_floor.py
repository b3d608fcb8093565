"""The floor under a native upload on this machine (issue 19): the same 1 GB PUT, from the same
httpx client, to a bare uvicorn app (uvloop; stock httptools, or `server/http_protocol`'s
BodyProtocol as `mlpipex server` runs) that only receives the body, or receives, hashes and
writes it on the event loop, or hands it to a worker thread as `server/upload.py` does; beside
`cp` of the file, the same bytes over a bare loopback socket (`sendfile` into `recv_into`, no
HTTP), and `mlpipex server` itself (PUT by digest, and POST unnamed). Median of --repeat runs
each, interleaved.

    python bench/upload_floor.py [--mb 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import socket
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
BODY_PROTOCOL = "mlpipex.server.http_protocol:BodyProtocol"
# (row, mode, uvicorn's http protocol)
APPS = (
    (f"{MODES[0]}, stock httptools", MODES[0], "httptools"),
    *((f"{m}, BodyProtocol", m, BODY_PROTOCOL) for m in MODES),
)
SOCKET = "bare loopback socket, no HTTP (sendfile -> recv_into)"
SINK = """
import socket, sys
s = socket.create_server(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
view = memoryview(bytearray(1 << 20))
c, _ = s.accept()
while c.recv_into(view):
    pass
c.close()
"""


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


def serve(mode: str, http: str, port: int, out: str) -> subprocess.Popen[bytes]:
    code = (
        "import sys, uvicorn, upload_floor as u;"
        f"uvicorn.run(u.app({mode!r}, {out!r}), host='127.0.0.1', port={port},"
        f" loop='uvloop', http={http!r}, log_level='warning')"
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


def put(url: str, src: Path, method: str = "PUT") -> float:
    def chunks() -> Iterator[bytes]:
        with src.open("rb") as f:
            while chunk := f.read(4 * 2**20):
                yield chunk

    start = time.perf_counter()
    httpx.request(method, url, content=chunks(), timeout=600).raise_for_status()
    return time.perf_counter() - start


def bare_socket(src: Path) -> float:
    """The same bytes over loopback TCP with nothing above it: the floor of any HTTP upload."""
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline())
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as s, src.open("rb") as f:
            s.sendfile(f)
            s.shutdown(socket.SHUT_WR)
            sink.wait(timeout=600)
        return time.perf_counter() - start
    finally:
        sink.kill()
        sink.wait()


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
        unnamed = "mlpipex server, POST /api/v1/objects (named by the server)"
        digest = hash_file(str(src))[0]
        rows = ("cp", SOCKET, *(row for row, _, _ in APPS), ours, unnamed)
        times: dict[str, list[float]] = {r: [] for r in rows}
        for _ in range(args.repeat):  # interleaved, so load changes hit every mode alike
            start = time.perf_counter()
            subprocess.run(["cp", str(src), out], check=True)
            times["cp"].append(time.perf_counter() - start)
            os.unlink(out)
            times[SOCKET].append(bare_socket(src))
            for row, mode, http in APPS:
                port = free_port()
                proc = serve(mode, http, port, out)
                try:
                    times[row].append(put(f"http://127.0.0.1:{port}/", src))
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                if os.path.exists(out):
                    os.unlink(out)
            server, url = start_server(f"{d}/reg/.mlpipex", f"{d}/reg/objects")
            stored = f"{d}/reg/objects/{digest[:2]}/{digest[2:]}"
            try:
                times[ours].append(put(f"{url}/api/v1/objects/{digest}", src))
                os.unlink(stored)
                times[unnamed].append(put(f"{url}/api/v1/objects", src, "POST"))
                os.unlink(stored)
            finally:
                stop_server(server)
    cp = statistics.median(times["cp"])
    rows = [
        [m, f"{statistics.median(t):.2f}", f"{statistics.median(t) / cp:.2f}x"]
        for m, t in times.items()
    ]
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# upload floor, {args.mb} MB — {machine()} — {today()}; median of {args.repeat}")
    print(f"load average at the end {load}\n")
    print(table(["what", "seconds", "/ cp"], rows))


if __name__ == "__main__":
    main()
