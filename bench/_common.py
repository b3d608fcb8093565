"""Shared by the bench scripts: timing, tables, the machine, a throwaway PostgreSQL and a
registry seeded in bulk (a database on a server: tests.conftest.postgres_database)."""

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

import psycopg

SEED_DIGEST = "a" * 64  # every seeded version's artifact (never read)
SEED_T0 = 1_700_000_000_000  # when seeded rows were made, in milliseconds


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


def drop_caches(*files: Path) -> None:
    """Make the next reads of files come from the disk: the whole page cache dropped where the
    kernel lets this process (root on a host), else each file's own pages evicted, which any
    process that can open it may ask (in a container /proc/sys is read-only). Written first
    (sync), so every page is clean and can go."""
    os.sync()
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


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
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    as_pg = ["su", "postgres", "-s", "/bin/sh", "-c"] if os.geteuid() == 0 else ["sh", "-c"]
    # the folder removed and the server stopped whatever fails once each exists (a start that
    # times out may leave it running; stopping one that never ran does nothing)
    with contextlib.ExitStack() as cleanup:
        d = Path(tempfile.mkdtemp(prefix="mlpipex-bench-pg-"))
        cleanup.callback(shutil.rmtree, d, ignore_errors=True)
        if os.geteuid() == 0:
            shutil.chown(d, "postgres")
        subprocess.run(
            [*as_pg, f"{pgbin}/initdb -D {d}/data -A trust -U postgres >/dev/null"], check=True
        )
        stop = [*as_pg, f"{pgbin}/pg_ctl -D {d}/data -m fast stop >/dev/null 2>&1"]
        cleanup.callback(subprocess.run, stop, check=False)
        opts = f"-p {port} -h 127.0.0.1 -k {d}"
        subprocess.run(
            [*as_pg, f"{pgbin}/pg_ctl -D {d}/data -l {d}/log -w -o '{opts}' start >/dev/null"],
            check=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"


def libpq_url(url: str) -> str:
    """url as psycopg takes it (SQLAlchemy's form names the driver)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def seed_registry(conn: psycopg.Connection, workspace: str, models: int, per: int) -> None:
    """models models model-1..n of per versions each in workspace, written in bulk and
    committed: version per is in Production, per // 2 is @champion; each version has a metric,
    a dataset and a file."""
    mark = conn.execute("SELECT coalesce(max(id), 0) FROM model_versions").fetchone()
    first = int(mark[0]) if mark else 0  # the versions seeded here are those above it
    conn.execute(
        "INSERT INTO registered_models (workspace, name, description, policy, last_version,"
        " created_at, updated_at) SELECT %s, 'model-' || i, '', NULL, %s, %s, %s"
        " FROM generate_series(1, %s) i",
        (workspace, per, SEED_T0, SEED_T0, models),
    )
    conn.execute(
        "INSERT INTO model_versions (model_id, version, stage, status, description, commit,"
        " commit_dirty, run_id, flavor, artifact_digest, artifact_size, created_at,"
        " created_by, stage_entered_at) SELECT m.id, v, CASE WHEN v = %s THEN 'Production'"
        " ELSE 'None' END, 'READY', '', repeat('c', 40), false, NULL, 'sklearn', %s, 5,"
        " %s + v, 'seed', %s + v FROM registered_models m CROSS JOIN generate_series(1, %s) v"
        " WHERE m.workspace = %s ORDER BY m.id, v",
        (per, SEED_DIGEST, SEED_T0, SEED_T0, per, workspace),
    )
    for sql in (
        "INSERT INTO version_metrics (version_id, key, value)"
        " SELECT id, 'auc', 0.5 + (version %% 500) / 1000.0 FROM model_versions WHERE id > %s",
        "INSERT INTO version_datasets (version_id, name, uri, digest, size, stage)"
        " SELECT id, 'train', 's3://bucket/train.parquet', 'md5:' || repeat('0', 32), NULL,"
        " NULL FROM model_versions WHERE id > %s",
        f"INSERT INTO version_files (version_id, path, digest, size) SELECT id, 'model.pkl',"
        f" '{SEED_DIGEST}', 5 FROM model_versions WHERE id > %s",
    ):
        conn.execute(sql, (first,))
    conn.execute(
        "INSERT INTO aliases (model_id, alias, version) SELECT id, 'champion', %s"
        " FROM registered_models WHERE workspace = %s",
        (per // 2, workspace),
    )
    conn.commit()
