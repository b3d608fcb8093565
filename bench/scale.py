"""Scale benchmark on PostgreSQL (issue 19): a registry of 1,000,000 versions across 1,000
models, 10,000,000 metric points across 100,000 runs and 1,000,000 chained events, seeded in bulk
(INSERT ... SELECT and COPY, not the API); then lookups, a page of versions, search_runs with a
metric filter, `audit --verify`, and two `mlpipex server` processes under a mixed write load.

    MLPIPEX_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:55432/postgres \\
        python bench/scale.py [--load-seconds 300] [--scale 1.0] [--keep]

It creates the database mlpipex_scale on that server and drops it at the end (--keep keeps it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from _common import (
    SEED_T0,
    latencies,
    libpq_url,
    machine,
    seconds,
    seed_registry,
    table,
    today,
)
from tests.conftest import postgres_database, start_server, stop_server

from mlpipex.client import Client
from mlpipex.domain.events import event_hash
from mlpipex.errors import Conflict, PolicyViolation
from mlpipex.service.registry import versions
from mlpipex.service.tracking import runs as tracking

DB = "mlpipex_scale"


def seed_tracking(conn: psycopg.Connection, runs: int, points: int) -> int:
    exp = conn.execute(
        "INSERT INTO experiments (name, lifecycle_stage, created_at, updated_at)"
        " VALUES ('scale', 'active', %s, %s) RETURNING id",
        (SEED_T0, SEED_T0),
    ).fetchone()
    assert exp is not None
    keys = ["loss", "acc", "auc", "f1"]
    steps = max(1, points // (runs * len(keys)))
    # Run ids in order (zero-padded hex), so the indexes grow at their right edge.
    conn.execute(
        "INSERT INTO runs (id, experiment_id, name, status, lifecycle_stage, user_id, start_time,"
        " end_time, parent_id, commit, commit_dirty, entry_point)"
        " SELECT lpad(to_hex(i), 32, '0'), %s, 'run-' || i, 'FINISHED', 'active', 'seed',"
        " %s + i, %s + i + 1000, NULL, NULL, false, NULL FROM generate_series(1, %s) i",
        (exp[0], SEED_T0, SEED_T0, runs),
    )
    conn.execute(
        "INSERT INTO metric_history (run_id, key, value, is_nan, timestamp, step)"
        " SELECT lpad(to_hex(i), 32, '0'), k,"
        " abs(hashtext(i || k || s) %% 10007) / 10007.0, false, %s + s, s"
        " FROM generate_series(1, %s) i, unnest(%s::text[]) k, generate_series(0, %s) s",
        (SEED_T0, runs, keys, steps - 1),
    )
    conn.execute(
        "INSERT INTO latest_metrics (run_id, key, value, is_nan, timestamp, step)"
        " SELECT run_id, key, value, is_nan, timestamp, step FROM metric_history WHERE step = %s",
        (steps - 1,),
    )
    conn.commit()
    return int(exp[0])


def seed_events(conn: psycopg.Connection, n: int) -> None:
    """n events chained exactly as the service chains them, written with COPY."""
    row = conn.execute("SELECT seq, hash FROM chain_heads WHERE workspace = 'default'").fetchone()
    seq, prev = (row[0], row[1]) if row else (0, "0" * 64)
    if row is None:
        conn.execute(
            "INSERT INTO chain_heads (workspace, seq, hash) VALUES ('default', 0, %s)", (prev,)
        )
    cols = "seq, time, actor, kind, model, version, reason, payload, prev_hash, hash"
    with conn.cursor() as cur, cur.copy(f"COPY events ({cols}) FROM STDIN") as copy:
        for i in range(n):
            seq += 1
            model, version, payload = f"model-{i % 1000 + 1}", i % 1000 + 1, {"stage": "None"}
            h = event_hash(
                seq=seq,
                time=SEED_T0 + i,
                actor="seed",
                kind="version.registered",
                model=model,
                version=version,
                reason="",
                payload=payload,
                prev_hash=prev,
            )
            row_ = (
                seq,
                SEED_T0 + i,
                "seed",
                "version.registered",
                model,
                version,
                "",
                payload,
                prev,
                h,
            )
            copy.write_row((*row_[:7], json.dumps(payload), *row_[8:]))
            prev = h
    conn.execute(
        "UPDATE chain_heads SET seq = %s, hash = %s WHERE workspace = 'default'", (seq, prev)
    )
    conn.commit()


def verify(url: str, objects: str) -> tuple[float, float, str]:
    """Seconds and peak memory (MiB) of `mlpipex audit --verify` as its own process."""
    cmd = [sys.executable, "-m", "mlpipex.cli", "--uri", url, "--objects", objects, "audit"]
    start = time.perf_counter()
    proc = subprocess.run([*cmd, "--verify"], capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return took, rss, (proc.stdout + proc.stderr).strip().splitlines()[-1]


class Load:
    """Mixed writes through two servers: registrations, metrics, promotions, alias moves."""

    def __init__(self, urls: list[str], work: Path, models: int, versions: int) -> None:
        self.urls, self.work, self.models, self.versions = urls, work, models, versions
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.data = work / "train.csv"
        self.data.write_text("x\n1\n")

    def worker(self, k: int, deadline: float) -> None:
        rnd = random.Random(k)
        with Client(self.urls[k % len(self.urls)], user=f"load{k}") as c:
            run = c.create_run(c.create_experiment(f"load-{k}")).id
            step = 0
            while time.monotonic() < deadline:
                op = rnd.choice(["register", "metrics", "metrics", "promote", "alias"])
                name = f"model-{rnd.randint(1, self.models)}"
                try:
                    if op == "register":
                        src = self.work / f"m{k}.bin"
                        src.write_bytes(os.urandom(2048))
                        v = c.register(
                            name,
                            src,
                            commit="d" * 40,
                            datasets={"train": str(self.data)},
                            metrics={"auc": 0.95},
                        )
                        self._record("registered", f"{name}/{v.version}")
                    elif op == "metrics":
                        step += 1
                        c.log_metrics(run, {"loss": 1 / step, "acc": rnd.random()}, step=step)
                        self._record("metrics")
                    elif op == "promote":
                        c.promote(name, rnd.randint(1, self.versions), "Staging", reason="load")
                        self._record("promote")
                    else:
                        c.set_alias(name, "canary", rnd.randint(1, self.versions))
                        self._record("alias")
                except (PolicyViolation, Conflict) as exc:
                    self._record(f"{op} refused ({type(exc).__name__})")
                except Exception as exc:
                    with self.lock:
                        self.errors.append(f"{op}: {type(exc).__name__}: {exc}")

    def _record(self, what: str, version: str | None = None) -> None:
        with self.lock:
            self.counts[what] += 1
            if version is not None:
                self.counts[f"v:{version}"] += 1

    def run(self, seconds_: float, threads: int) -> None:
        deadline = time.monotonic() + seconds_
        workers = [threading.Thread(target=self.worker, args=(k, deadline)) for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=seconds_ + 120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--admin-url", default=os.environ.get("MLPIPEX_TEST_POSTGRES_URL"))
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    ap.add_argument("--load-seconds", type=float, default=300)
    ap.add_argument("--threads", type=int, default=4, help="load threads (half per server)")
    ap.add_argument("--calls", type=int, default=400)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()
    if not args.admin_url:
        sys.exit("set MLPIPEX_TEST_POSTGRES_URL or pass --admin-url")
    models, per = 1000, max(2, int(1000 * args.scale))
    runs, points, n_events = (
        int(100_000 * args.scale),
        int(10_000_000 * args.scale),
        int(1_000_000 * args.scale),
    )
    rows: list[list[str]] = []
    # the database, the work folder and the servers, each undone whatever fails after it exists
    with contextlib.ExitStack() as cleanup:
        url = cleanup.enter_context(postgres_database(DB, args.admin_url, keep=args.keep))
        work = Path(tempfile.mkdtemp(prefix="mlpipex-scale-"))
        cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        objects = str(work / "objects")
        with Client(url, objects=objects, user="bench") as c:
            assert c.registry  # creates the schema
        seed: dict[str, float] = {}
        with psycopg.connect(libpq_url(url)) as conn:
            exp_id = 0

            def tracking_() -> None:
                nonlocal exp_id
                exp_id = seed_tracking(conn, runs, points)

            phases: dict[str, Callable[[], object]] = {
                "registry": lambda: seed_registry(conn, "default", models, per),
                "tracking": tracking_,
                "events": lambda: seed_events(conn, n_events),
                "analyze": lambda: conn.execute("ANALYZE"),
            }
            for phase, fn in phases.items():  # progress: a phase takes up to a few minutes
                print(f"seeding {phase} ...", end=" ", file=sys.stderr, flush=True)
                seed[phase] = seconds(fn)
                print(f"{seed[phase]:.0f} s", file=sys.stderr, flush=True)
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        assert size is not None
        print(f"seeded: {seed}, {size[0] / 2**30:.2f} GiB", file=sys.stderr)
        with Client(url, objects=objects, user="bench") as c:
            reg = c.registry
            rnd = random.Random(1)
            med, p99 = latencies(
                lambda: versions.get_version(reg, f"model-{rnd.randint(1, models)}@champion"),
                args.calls,
            )
            rows.append(["get version by alias", f"{med:.2f}", f"{p99:.2f}", "p99 < 10"])
            med, p99 = latencies(
                lambda: versions.list_versions(reg, f"model-{rnd.randint(1, models)}", limit=100),
                args.calls // 2,
            )
            rows.append(["a page of 100 versions", f"{med:.2f}", f"{p99:.2f}", "< 50"])
            med, p99 = latencies(
                lambda: versions.list_versions(
                    reg, f"model-{rnd.randint(1, models)}", limit=100, page_token=str(per // 2)
                ),
                args.calls // 2,
            )
            rows.append(["a page of 100 versions, mid-way", f"{med:.2f}", f"{p99:.2f}", "< 50"])
            med, p99 = latencies(
                lambda: tracking.search_runs(
                    reg, [exp_id], "metrics.auc > 0.5 and metrics.loss < 0.3", max_results=100
                ),
                max(10, args.calls // 20),
                warmup=3,
            )
            rows.append(
                [
                    f"search_runs, metric filter, {runs:,} runs",
                    f"{med:.1f}",
                    f"{p99:.1f}",
                    "< 200 ms",
                ]
            )
        took, rss, said = verify(url, objects)
        rows.append([f"audit --verify, {n_events:,} events", f"{took:.1f} s", "-", "< 30 s"])
        print(f"verify: {said}; peak RSS {rss:.0f} MiB", file=sys.stderr)

        with contextlib.ExitStack() as servers:
            urls: list[str] = []
            for _ in range(2):
                proc, server_url = start_server(url, objects)
                servers.callback(stop_server, proc)
                urls.append(server_url)
            load = Load(urls, work, models, per)
            load.run(args.load_seconds, args.threads)
        with psycopg.connect(libpq_url(url)) as conn:
            dupes = conn.execute(
                "SELECT count(*) FROM (SELECT model_id, version FROM model_versions"
                " GROUP BY 1, 2 HAVING count(*) > 1) d"
            ).fetchone()
            gaps = conn.execute(
                "SELECT count(*) FROM registered_models m WHERE m.last_version <>"
                " (SELECT max(version) FROM model_versions v WHERE v.model_id = m.id)"
            ).fetchone()
        _took2, _rss2, said2 = verify(url, objects)
        registered = sum(1 for k in load.counts if k.startswith("v:"))
        ops = {k: v for k, v in load.counts.items() if not k.startswith("v:")}
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in seed.items())
    dupes_n, gaps_n = (dupes[0] if dupes else "?"), (gaps[0] if gaps else "?")
    print(f"# scale benchmark (PostgreSQL) — {machine()} — {today()}\n")
    print(
        f"Seeded {models:,} models x {per:,} versions, {runs:,} runs with {points:,} metric points,"
        f" {n_events:,} events in {sum(seed.values()):.0f} s ({steps});"
        f" database {size[0] / 2**30:.2f} GiB.\n"
    )
    print(table(["operation", "median ms", "p99 ms", "target (ms)"], rows))
    print(f"\naudit --verify peak memory: {rss:.0f} MiB; said: {said}")
    print(
        f"\nTwo servers, {args.threads} writer threads, {args.load_seconds:.0f} s: {ops};"
        f" {len(load.errors)} errors; {registered} new versions, duplicates {dupes_n},"
        f" models whose last_version differs from their newest version {gaps_n};"
        f" chain after the load: {said2}"
    )
    for e in load.errors[:10]:
        print(f"  error: {e}")


if __name__ == "__main__":
    main()
