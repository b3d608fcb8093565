"""What the body limits cost: the JSON depth check on a 60 MB body (whole-buffer passes) beside
a Python loop over its bytes (what the check did before), and how long an anonymous 60 MB POST
to an --auth server takes to be refused. Run: python bench/body_limits.py"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from mlpipex.server import ServerSettings, create_app
from mlpipex.server.limits import MAX_DEPTH, too_deep

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, today


def byte_loop(body: bytes) -> bool:
    """The peer: one Python step per byte, tracking strings and escapes."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D) and depth:
            depth -= 1
    return False


def best(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rows = [{"input": {"x": [i, i + 0.5, 'a"b']}, "output": [[i % 2]]} for i in range(900_000)]
    body = json.dumps({"endpoint": "e", "rows": rows}).encode()
    ours, peer = best(lambda: too_deep(body)), best(lambda: byte_loop(body), runs=1)
    print(f"{machine()}; {today()}")
    print(f"depth check, {len(body) / 2**20:.0f} MiB JSON: {ours:.3f} s; byte loop {peer:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(ServerSettings(store=str(Path(tmp) / ".mlpipex"), auth=True))
        with TestClient(app) as c:
            refused = best(lambda: c.post("/api/v1/agent/predictions", content=body))
            assert c.post("/api/v1/agent/predictions", content=body).status_code == 401
    print(f"anonymous {len(body) / 2**20:.0f} MiB POST to --auth, refused 401: {refused:.3f} s")


if __name__ == "__main__":
    main()
