"""`make fuzz`: Schemathesis against the control plane's OpenAPI schema, as an admin, failing on
any 5xx. Starts its own `mlpipex server --auth` on a free loopback port over a fresh registry and
stops it afterwards; bounded in examples and time, seeded and derandomized so runs repeat.

Left out: webhook creation and test sends (they would deliver to whatever URL was generated), and
updating users and revoking tokens (the fuzzer found its own account and token and locked itself
out, leaving the rest of the run to test only 401s).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx

from mlpipex.client import Client
from mlpipex.service.context import Actor

SEED = 20261129
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "12"))
MAX_SECONDS = int(os.environ.get("FUZZ_MAX_SECONDS", "240"))
EXCLUDED_PATHS = [
    "/api/v1/webhooks",
    "/api/v1/webhooks/{webhook_id}/test",
    "/api/v1/users/{name}",
    "/api/v1/tokens/{token_id}",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(root: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "mlpipex.cli", "--uri", str(root), "server", "--auth"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--objects", str(root / "objects")]
    log = (root.parent / "server.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {(root.parent / 'server.log').read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not answer /health within 60 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _server_errors(junit: Path) -> list[str]:
    """The operations whose failures Schemathesis reported (only the 5xx check runs)."""
    if not junit.exists():
        return []
    cases = ET.parse(junit).getroot().iter("testcase")
    return [c.get("name", "?") for c in cases if c.find("failure") is not None]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mlpipex-fuzz-") as tmp:
        root = Path(tmp) / ".mlpipex"
        with Client(str(root), objects=str(root / "objects"), actor=Actor("fuzz")) as admin:
            admin.create_user("fuzz", ["admin"])
            _, token = admin.create_token("fuzz", "fuzz")
        port = _free_port()
        proc = _start(root, port)
        junit = Path(tmp) / "junit.xml"
        st = str(Path(sys.executable).parent / "st")
        cmd = [st, "run", f"http://127.0.0.1:{port}/openapi.json", "--auth", f"fuzz:{token}"]
        cmd += ["--checks", "not_a_server_error", "--seed", str(SEED)]
        cmd += ["--generation-deterministic", "--max-examples", str(MAX_EXAMPLES)]
        cmd += ["--max-time", str(MAX_SECONDS), "--workers", "1", "--no-color"]
        cmd += ["--report", "junit", "--report-junit-path", str(junit)]
        cmd += ["--request-timeout", "30", "--suppress-health-check", "all"]
        for path in EXCLUDED_PATHS:
            cmd += ["--exclude-path", path]
        started = time.monotonic()
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        finally:
            _stop(proc)
        took = time.monotonic() - started
        failed = _server_errors(junit)
        logged = len(re.findall(r"internal error on ", (Path(tmp) / "server.log").read_text()))
        print(run.stdout[-4000:])
        print(
            f"fuzz: {len(failed)} operations answered 5xx, {logged} internal errors logged, "
            f"schemathesis exit {run.returncode}, {took:.0f} s (seed {SEED}, "
            f"{MAX_EXAMPLES} examples per operation)"
        )
        for name in failed:
            print(f"  5xx: {name}")
        if run.returncode not in (0, 1) and not failed:
            print(run.stderr[-4000:])
        return 1 if failed or logged or run.returncode != 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
