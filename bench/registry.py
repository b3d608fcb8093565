"""Registry benchmark (issue 2): lookups with 100,000 versions of one model, on SQLite and
PostgreSQL, through the service layer and the CLI; registering 1 GB beside `cp`.

    .venv/bin/python bench/registry.py [--versions 100000] [--size-mb 1024] [--transfers-only]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from _common import drop_caches, latencies, machine, postgres, seconds, table, today
from tests.conftest import start_server, stop_server

from mlpipex.cli.main import main as cli
from mlpipex.client import Client
from mlpipex.client.http import Http
from mlpipex.objects.hashing import hash_file
from mlpipex.service.registry import versions
from mlpipex.store import schema as t

MODEL = "bench"


def seed(client: Client, n: int) -> None:
    """n versions of one model, inserted in bulk (registering them one by one would measure
    hashing, not lookups); then the alias the lookup resolves."""
    src = Path(tempfile.mkdtemp()) / "m.bin"
    src.write_bytes(b"model")
    v1 = client.register(
        MODEL,
        src,
        commit="c" * 40,
        metrics={"auc": 0.9},
        datasets={"train": "s3://b/train.parquet#md5:" + "0" * 32},
    )
    store = client.registry.store
    with store.write() as conn:
        mid = conn.execute(sa.select(t.models.c.id).where(t.models.c.name == MODEL)).scalar_one()
        for start in range(2, n + 1, 10_000):
            nums = range(start, min(n, start + 9_999) + 1)
            conn.execute(
                sa.insert(t.versions),
                [
                    dict(
                        model_id=mid,
                        version=i,
                        stage="None",
                        status="READY",
                        description="",
                        commit="c" * 40,
                        commit_dirty=False,
                        run_id=None,
                        flavor="sklearn",
                        artifact_digest=v1.artifact_digest,
                        artifact_size=5,
                        created_at=v1.created_at + i,
                        created_by="bench",
                        stage_entered_at=v1.created_at + i,
                    )
                    for i in nums
                ],
            )
            ids = {
                v: i
                for v, i in conn.execute(
                    sa.select(t.versions.c.version, t.versions.c.id).where(
                        t.versions.c.model_id == mid,
                        t.versions.c.version.between(nums[0], nums[-1]),
                    )
                )
            }
            conn.execute(
                sa.insert(t.version_metrics),
                [{"version_id": ids[i], "key": "auc", "value": 0.5 + i / (2 * n)} for i in nums],
            )
            conn.execute(
                sa.insert(t.version_datasets),
                [
                    {
                        "version_id": ids[i],
                        "name": "train",
                        "uri": "s3://b/train.parquet",
                        "digest": "md5:" + "0" * 32,
                        "size": None,
                        "stage": None,
                    }
                    for i in nums
                ],
            )
            conn.execute(
                sa.insert(t.version_files),
                [
                    {"version_id": ids[i], "path": "m.bin", "digest": v1.files[0].digest, "size": 5}
                    for i in nums
                ],
            )
        conn.execute(sa.update(t.models).where(t.models.c.id == mid).values(last_version=n))
    client.set_alias(MODEL, "champion", n // 2)
    # Planner statistics, as autovacuum (PostgreSQL) would gather after a bulk load like this.
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def lookups(label: str, uri: str, objects: str, n: int, calls: int) -> list[list[str]]:
    client = Client(uri, objects=objects, user="bench")
    seed(client, n)
    reg = client.registry
    rows = []
    med, p99 = latencies(lambda: versions.get_version(reg, f"{MODEL}@champion"), calls)
    rows.append([label, "show NAME@ALIAS", "service", f"{med:.2f}", f"{p99:.2f}", "5"])
    med, p99 = latencies(lambda: versions.list_versions(reg, MODEL, limit=100), calls)
    rows.append([label, "versions NAME (page of 100)", "service", f"{med:.2f}", f"{p99:.2f}", "50"])
    env = {"MLPIPEX_URI": uri, "MLPIPEX_OBJECTS": objects}
    os.environ.update(env)

    def run_cli(*args: str) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli(list(args)) == 0

    med, p99 = latencies(lambda: run_cli("show", f"{MODEL}@champion"), calls // 4)
    rows.append([label, "show NAME@ALIAS", "CLI in-process", f"{med:.2f}", f"{p99:.2f}", "5"])
    med, p99 = latencies(lambda: run_cli("versions", MODEL, "--limit", "100"), calls // 4)
    rows.append(
        [label, "versions NAME (page of 100)", "CLI in-process", f"{med:.2f}", f"{p99:.2f}", "50"]
    )
    client.close()
    return rows


def big_file(path: Path, size_mb: int) -> None:
    block = os.urandom(1 << 20)
    with path.open("wb") as f:
        for i in range(size_mb):
            f.write(block[:-8] + i.to_bytes(8, "little"))


def transfers(size_mb: int) -> list[list[str]]:
    work = Path(tempfile.mkdtemp(prefix="mlpipex-bench-"))
    src = work / "model.bin"
    big_file(src, size_mb)
    data = work / "train.csv"
    data.write_text("x\n1\n")
    kw = {"commit": "c" * 40, "datasets": {"train": str(data)}, "metrics": {"auc": 0.9}}
    gb = size_mb / 1024

    def cp() -> float:
        drop_caches(src)
        took = seconds(lambda: subprocess.run(["cp", str(src), str(work / "copy.bin")], check=True))
        os.unlink(work / "copy.bin")
        return took

    def fresh_client(name: str) -> Client:
        return Client(str(work / name / ".mlpipex"), user="bench")

    cp_s = statistics.median(cp() for _ in range(3))
    drop_caches(src)
    with fresh_client("a") as c:
        # the registry made first (migrations, 0.4 s), so the figure is the 1 GB's registration
        c.upgrade_schema()
        sdk = seconds(lambda: c.register(MODEL, src, **kw))
        again = seconds(lambda: c.register(MODEL, src, **kw))
    drop_caches(src)
    env = {**os.environ, "MLPIPEX_URI": str(work / "b" / ".mlpipex"), "MLPIPEX_USER": "bench"}
    cmd = [
        sys.executable,
        "-m",
        "mlpipex.cli",
        "register",
        MODEL,
        str(src),
        "--commit",
        "c" * 40,
        "--dataset",
        f"train={data}",
        "--metric",
        "auc=0.9",
    ]
    proc = seconds(lambda: subprocess.run(cmd, env=env, check=True, capture_output=True))
    server, url = start_server(str(work / "s" / ".mlpipex"), str(work / "s" / "objects"))
    try:
        drop_caches(src)
        with Client(url, user="bench") as c:
            native = seconds(lambda: c.register(MODEL, src, **kw))
        # the upload alone (the register above hashed the file first): the object removed, the
        # same bytes sent again through the client's transport, the page cache dropped
        digest = hash_file(str(src))[0]
        http = Http(url, token=None, user="bench")
        puts, posts = [], []
        try:
            for _ in range(3):
                os.unlink(work / "s" / "objects" / digest[:2] / digest[2:])
                drop_caches(src)
                puts.append(seconds(lambda: http.upload(digest, src, None)))
                os.unlink(work / "s" / "objects" / digest[:2] / digest[2:])
                drop_caches(src)
                posts.append(seconds(lambda: http.upload_unnamed(src, None)))
        finally:
            http.close()
        put, post = statistics.median(puts), statistics.median(posts)
    finally:
        stop_server(server)
    startup = seconds(
        lambda: subprocess.run(
            [sys.executable, "-m", "mlpipex.cli", "--help"],
            env=env,
            check=True,
            capture_output=True,
        )
    )
    shutil.rmtree(work)
    return [
        [
            "register, in-process (SDK), cold cache",
            f"{sdk:.2f} s",
            f"cp {cp_s:.2f} s",
            f"{sdk / cp_s:.2f}x cp",
            "<= 1.3x cp",
        ],
        [
            "register, CLI process, cold cache",
            f"{proc:.2f} s",
            f"cp {cp_s:.2f} s",
            f"{proc / cp_s:.2f}x cp (CLI start {startup:.2f} s)",
            "-",
        ],
        [
            "register through a server (one pass: sent unhashed, named by the server), cold",
            f"{native:.2f} s",
            f"cp {cp_s:.2f} s",
            f"{native / cp_s:.2f}x cp",
            "<= 1.3x cp",
        ],
        [
            "upload alone (PUT /api/v1/objects/DIGEST), cold cache, median of 3",
            f"{put:.2f} s",
            f"cp {cp_s:.2f} s",
            f"{put / cp_s:.2f}x cp ({size_mb / put:.0f} MB/s)",
            "<= 1.3x cp",
        ],
        [
            "upload alone, unnamed (POST /api/v1/objects), cold cache, median of 3",
            f"{post:.2f} s",
            f"cp {cp_s:.2f} s",
            f"{post / cp_s:.2f}x cp ({size_mb / post:.0f} MB/s)",
            "<= 1.3x cp",
        ],
        [
            "register the same bytes again (hashing only)",
            f"{again:.2f} s",
            "-",
            f"{gb / again:.1f} GB/s",
            ">= 2 GB/s",
        ],
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--versions", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=400)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--transfers-only", action="store_true", help="only the 1 GB registrations")
    args = ap.parse_args()
    print(f"# registry benchmark — {machine()} — {today()}\n")
    if args.transfers_only:
        print(table(["operation", "mlpipex", "peer", "ratio", "target"], transfers(args.size_mb)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as d:
        rows += lookups(
            "SQLite", str(Path(d) / ".mlpipex"), str(Path(d) / "objects"), args.versions, args.calls
        )
    with postgres() as url, tempfile.TemporaryDirectory() as d:
        rows += lookups("PostgreSQL", url, str(Path(d) / "objects"), args.versions, args.calls)
    print(f"Lookups with {args.versions:,} versions of one model (ms per call):\n")
    print(table(["store", "operation", "through", "median", "p99", "p99 target"], rows))
    print(f"\nRegistering a {args.size_mb} MB file, first from disk (page cache dropped;")
    print("cp: median of 3):\n")
    print(table(["operation", "mlpipex", "peer", "ratio", "target"], transfers(args.size_mb)))


if __name__ == "__main__":
    main()
