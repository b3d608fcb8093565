"""The floor under a native upload on this machine (issue 19): the same 1 GB PUT, from the same
client (httpx with the SDK's file body), to a bare uvicorn app (uvloop; stock httptools, or
`server/http_protocol`'s BodyProtocol as `mlpipex server` runs) that only receives the body, or
receives, hashes and writes it on the event loop, or hands it to a worker thread as
`server/upload.py` does; beside `cp` of the file, the same bytes over a bare loopback socket
(`sendfile` into `recv_into`, no HTTP), and `mlpipex server` itself (PUT by digest, and POST
unnamed). Median of --repeat runs each, interleaved; with each the CPU seconds of the sender
(this process's httpx, or `cp`) and of the receiver (the server process, all its threads),
which move less with the load than the wall time does.

    python bench/upload_floor.py [--mb 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from _common import machine, table, today
from tests.conftest import free_port, start_server, stop_server

from mlpipex.client.http import file_body
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

    def write(body: Readable, size: int | None) -> None:
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


TICK = os.sysconf("SC_CLK_TCK")
Figure = tuple[float, float, float]  # seconds, the sender's CPU, the receiver's CPU


def proc_cpu(pid: int) -> float:
    """User + system seconds of a live process (all its threads, ended ones too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def own_cpu(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def put(url: str, src: Path, server: int, method: str = "PUT") -> Figure:
    """The file sent as the SDK sends it (``client/http.file_body``: Content-Length declared,
    4 MB reads, the disk asked ahead)."""
    mine, theirs, start = own_cpu(), proc_cpu(server), time.perf_counter()
    httpx.request(method, url, **file_body(src), timeout=600).raise_for_status()
    took = time.perf_counter() - start
    return took, own_cpu() - mine, proc_cpu(server) - theirs


def copy(src: Path, out: str) -> Figure:
    """`cp`, its CPU all in one process (shown as the sender's)."""
    used, start = own_cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(["cp", str(src), out], check=True)
    took = time.perf_counter() - start
    os.unlink(out)
    return took, own_cpu(resource.RUSAGE_CHILDREN) - used, 0.0


def bare_socket(src: Path) -> Figure:
    """The same bytes over loopback TCP with nothing above it: the floor of any HTTP upload."""
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline())
        mine, theirs = own_cpu(), own_cpu(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as s, src.open("rb") as f:
            s.sendfile(f)
            s.shutdown(socket.SHUT_WR)
            sink.wait(timeout=600)  # reaped: its CPU is counted among the children's
        took = time.perf_counter() - start
        return took, own_cpu() - mine, own_cpu(resource.RUSAGE_CHILDREN) - theirs
    finally:
        sink.kill()
        sink.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    loads = ["/".join(f"{x:.1f}" for x in os.getloadavg())]
    with tempfile.TemporaryDirectory(prefix="mlpipex-floor-") as d:
        src, out = Path(d) / "big.bin", str(Path(d) / "out.bin")
        with src.open("wb") as f:
            for _ in range(args.mb):
                f.write(os.urandom(2**20))
        ours = "mlpipex server, PUT /api/v1/objects/DIGEST"
        unnamed = "mlpipex server, POST /api/v1/objects (named by the server)"
        digest = hash_file(str(src))[0]
        rows = ("cp", SOCKET, *(row for row, _, _ in APPS), ours, unnamed)
        figures: dict[str, list[Figure]] = {r: [] for r in rows}
        for _ in range(args.repeat):  # interleaved, so load changes hit every mode alike
            figures["cp"].append(copy(src, out))
            figures[SOCKET].append(bare_socket(src))
            for row, mode, http in APPS:
                port = free_port()
                proc = serve(mode, http, port, out)
                try:
                    figures[row].append(put(f"http://127.0.0.1:{port}/", src, proc.pid))
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                if os.path.exists(out):
                    os.unlink(out)
            server, url = start_server(f"{d}/reg/.mlpipex", f"{d}/reg/objects")
            stored = f"{d}/reg/objects/{digest[:2]}/{digest[2:]}"
            try:
                figures[ours].append(put(f"{url}/api/v1/objects/{digest}", src, server.pid))
                os.unlink(stored)
                figures[unnamed].append(put(f"{url}/api/v1/objects", src, server.pid, "POST"))
                os.unlink(stored)
            finally:
                stop_server(server)
    loads.append("/".join(f"{x:.1f}" for x in os.getloadavg()))
    cp = statistics.median(f[0] for f in figures["cp"])

    def median(fs: list[Figure], i: int) -> float:
        return statistics.median(f[i] for f in fs)

    table_rows = [
        [
            m,
            f"{median(fs, 0):.2f}",
            f"{median(fs, 0) / cp:.2f}x",
            f"{median(fs, 1):.2f}",
            f"{median(fs, 2):.2f}" if m != "cp" else "-",
        ]
        for m, fs in figures.items()
    ]
    print(f"# upload floor, {args.mb} MB — {machine()} — {today()}; median of {args.repeat}")
    print(f"load average (1/5/15 min) before {loads[0]}, after {loads[1]}\n")
    heads = ["what", "seconds", "/ cp", "sender CPU s", "receiver CPU s"]
    print(table(heads, table_rows))


if __name__ == "__main__":
    main()
