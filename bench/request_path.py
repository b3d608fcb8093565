"""What a request costs `mlpipex server` between uvicorn and the handler (issue 13): the same
calls, from one `requests` session as the mlflow client makes them, to `mlpipex server`
(permissive policy, SQLite) and to bare ASGI apps under the same uvicorn (uvloop, httptools
through `server/http_protocol.BodyProtocol`) that answer at once, or after a hop to a thread of
a no-op: through anyio (Starlette's `run_in_threadpool`) or `server/threads.run_blocking` (the
standard library's executor). Each server takes --calls calls of each kind in turn, --rounds
times; the figure is the median of the rounds' means, in ms a request.

--src DIR (repeatable) also runs `mlpipex server` from another tree's `src` (a `git archive` of
an earlier commit), side by side in the same rounds, for a before and after.

    python bench/request_path.py [--calls 100] [--rounds 20] [--src /tmp/before/src]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from _common import machine, table, today
from tests.conftest import free_port, start_server, stop_server, wait_for

HOPS = ("anyio", "run_blocking")
MLFLOW = "/api/2.0/mlflow"
# (row, method, path, the request's JSON body or query for call i)
CALLS: list[tuple[str, str, str, Callable[[int], dict[str, str]]]] = [
    ("GET /version (no database)", "GET", "/version", lambda i: {}),
    ("registered-models/get (a read)", "GET", f"{MLFLOW}/registered-models/get",
     lambda i: {"name": "m"}),
    ("model-versions/set-tag (a write)", "POST", f"{MLFLOW}/model-versions/set-tag",
     lambda i: {"name": "m", "version": "1", "key": "k", "value": str(i)}),
]  # fmt: skip


def bare_app(hop: str = "") -> Any:
    """An ASGI app that reads the body and answers {} at once, or after a hop to a thread."""
    hops: dict[str, Callable[[], Any]] = {}
    if hop == "anyio":
        from starlette.concurrency import run_in_threadpool

        hops[hop] = lambda: run_in_threadpool(dict)
    elif hop == "run_blocking":
        from mlpipex.server.threads import run_blocking

        hops[hop] = lambda: run_blocking(dict)

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        if hop:
            await hops[hop]()
        start = {"type": "http.response.start", "status": 200, "headers": []}
        await send({**start, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    return asgi


def serve_bare(hop: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    code = (
        "import uvicorn, request_path as r;"
        f"uvicorn.run(r.bare_app({hop!r}), host='127.0.0.1', port={port}, loop='uvloop',"
        " http='mlpipex.server.http_protocol:BodyProtocol', log_level='warning',"
        " access_log=False, lifespan='off')"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parent)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), 60, "the bare app to start")
    except AssertionError:
        proc.kill()
        raise
    return proc, url


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
    except requests.ConnectionError:
        return False
    return True


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--calls", type=int, default=100)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--src", type=Path, action="append", default=[], help="another tree's src")
    args = p.parse_args()
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    with tempfile.TemporaryDirectory(prefix="mlpipex-bench-path-") as tmp:
        try:
            servers["bare"] = serve_bare("")
            for hop in HOPS:
                servers[f"bare + {hop} hop"] = serve_bare(hop)
            trees = [("mlpipex server", None), *((f"... from {s}", s) for s in args.src)]
            for n, (name, src) in enumerate(trees):
                env = {"PYTHONPATH": str(src)} if src else None
                root = Path(tmp) / str(n)
                servers[name] = start_server(
                    str(root / ".mlpipex"), str(root / "objects"), "--policy", "permissive",
                    env=env,
                )  # fmt: skip
            session = requests.Session()
            for name, (_, url) in servers.items():
                if name.startswith("bare"):
                    continue
                session.post(f"{url}{MLFLOW}/registered-models/create", json={"name": "m"})
                created = session.post(
                    f"{url}{MLFLOW}/model-versions/create", json={"name": "m", "source": "s3://b/m"}
                )
                created.raise_for_status()
            rows = measure(session, servers, args.calls, args.rounds)
        finally:
            for proc, _ in servers.values():
                stop_server(proc)
    print(table(["call", *servers], rows))
    print(f"\nms a request, median of {args.rounds} rounds of {args.calls} calls each")
    print(f"machine: {machine()}; date: {today()}")


def measure(
    session: requests.Session,
    servers: dict[str, tuple[subprocess.Popen[bytes], str]],
    calls: int,
    rounds: int,
) -> list[list[str]]:
    rows = []
    for row, method, path, body in CALLS:
        means: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, (_, url) in servers.items():
                for i in range(5):
                    _call(session, method, url + path, body(i))
                start = time.perf_counter()
                for i in range(calls):
                    _call(session, method, url + path, body(i))
                means[name].append((time.perf_counter() - start) / calls * 1000)
        rows.append([row, *(f"{statistics.median(m):.3f}" for m in means.values())])
    return rows


def _call(session: requests.Session, method: str, url: str, body: dict[str, str]) -> None:
    if method == "GET":
        session.get(url, params=body).raise_for_status()
    else:
        session.request(method, url, json=body).raise_for_status()


if __name__ == "__main__":
    main()
