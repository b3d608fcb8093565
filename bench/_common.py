"""Shared by the bench scripts: timing, tables, the machine, a throwaway PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path


def machine() -> str:
    cpu = "unknown cpu"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def today() -> str:
    return dt.date.today().isoformat()


def latencies(fn: Callable[[], object], n: int, warmup: int = 20) -> tuple[float, float]:
    """(median, p99) of n calls, in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(n - 1, int(n * 0.99))]


def seconds(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [
            line(headers),
            "|" + "|".join("-" * (w + 2) for w in widths) + "|",
            *(line(r) for r in rows),
        ]
    )


def drop_caches() -> None:
    """Best effort: make file reads come from disk (needs root; ignored otherwise)."""
    with contextlib.suppress(OSError):
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL URL: MLPIPEX_BENCH_POSTGRES_URL, or a throwaway server started here."""
    if url := os.environ.get("MLPIPEX_BENCH_POSTGRES_URL"):
        yield url
        return
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
    pgbin = bins[-1].parent
    d = Path(tempfile.mkdtemp(prefix="mlpipex-bench-pg-"))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    as_pg = ["su", "postgres", "-s", "/bin/sh", "-c"] if os.geteuid() == 0 else ["sh", "-c"]
    if os.geteuid() == 0:
        shutil.chown(d, "postgres")
    subprocess.run(
        [*as_pg, f"{pgbin}/initdb -D {d}/data -A trust -U postgres >/dev/null"], check=True
    )
    opts = f"-p {port} -h 127.0.0.1 -k {d}"
    subprocess.run(
        [*as_pg, f"{pgbin}/pg_ctl -D {d}/data -l {d}/log -w -o '{opts}' start >/dev/null"],
        check=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_pg, f"{pgbin}/pg_ctl -D {d}/data -m fast stop >/dev/null"], check=False)
        shutil.rmtree(d, ignore_errors=True)
