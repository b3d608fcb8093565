"""A Ray cluster of one node on loopback, started and stopped whole: for the Ray runtime's
tests and benchmark."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import free_port


@contextlib.contextmanager
def ray_head(num_cpus: int = 2) -> Iterator[str]:
    """``ray start --head`` on loopback (its address), in a process group of its own; every
    process it started is stopped on the way out. Meanwhile RAY_AUTH_MODE=disabled for this
    process and what it starts (the agents): a loopback cluster of its own, no token file
    shared with other clusters on the machine."""
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        with _started(num_cpus) as address:
            yield address
    finally:
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


@contextlib.contextmanager
def _started(num_cpus: int) -> Iterator[str]:
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths are long
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("ray")),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={num_cpus}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the Ray head did not start")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        # Ray's workers start sessions of their own: find them before their raylet goes.
        started = _descendants(proc.pid)
        _stop(proc.pid, started | {proc.pid})
        proc.wait(timeout=10)
        shutil.rmtree(temp, ignore_errors=True)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def _descendants(pid: int) -> set[int]:
    """The processes started, directly or not, by pid (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _stop(head: int, started: set[int]) -> None:
    """SIGTERM to the head's process group and to every process it started, SIGKILL to those
    still running after 20 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head, signal.SIGTERM)
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(p) for p in started):
        time.sleep(0.2)
    for pid in started:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
