"""Workspace isolation benchmark on PostgreSQL (issue 17): lookups in a workspace of 1,000
versions, in a database where another workspace holds 1,000,000 versions (1,000 models named as
the small workspace's are), against the same lookups in a database without the big workspace.
The two databases are measured in alternating rounds so the machine's load falls on both.

    MLPIPEX_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:55432/postgres \\
        python bench/workspaces.py [--big-models 1000] [--per 1000] [--rounds 7] [--calls 300]

Creates the databases mlpipex_ws_alone and mlpipex_ws_shared on that server, drops them after.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from _common import (
    latencies,
    libpq_url,
    machine,
    seconds,
    seed_registry,
    table,
    today,
)
from tests.conftest import postgres_database

from mlpipex.client import Client
from mlpipex.service.context import Registry
from mlpipex.service.mlflow import registry as mlflow_registry
from mlpipex.service.registry import models, versions

SMALL, BIG = "small-team", "big-team"


def seed(url: str, workspace: str, n_models: int, per: int) -> float:
    """n_models models of per versions each in workspace, analyzed after; seconds taken."""

    def seed_() -> None:
        with psycopg.connect(libpq_url(url)) as conn:
            seed_registry(conn, workspace, n_models, per)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("ANALYZE")

    return seconds(seed_)


def lookups(reg: Registry) -> dict[str, Callable[[], object]]:
    """What a team does most, in the small workspace."""
    return {
        "get by alias (model-5@champion)": lambda: versions.get_version(reg, "model-5@champion"),
        "get by number (model-5/77)": lambda: versions.get_version(reg, "model-5/77"),
        "list 100 versions of a model": lambda: versions.list_versions(reg, "model-5", limit=100),
        "list models": lambda: models.list_models(reg, limit=100),
        "MLflow search_model_versions name=": lambda: mlflow_registry.search_versions(
            reg, "name = 'model-5'", [], 100, None
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big-models", type=int, default=1000)
    ap.add_argument("--per", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    admin = os.environ.get("MLPIPEX_TEST_POSTGRES_URL") or sys.exit(
        "set MLPIPEX_TEST_POSTGRES_URL to a PostgreSQL server"
    )
    names = {"alone": "mlpipex_ws_alone", "shared": "mlpipex_ws_shared"}
    regs: dict[str, Registry] = {}
    seeded: dict[str, float] = {}
    # the databases, the objects folder and the clients, each undone whatever fails after it
    with contextlib.ExitStack() as cleanup:
        objects = tempfile.mkdtemp(prefix="mlpipex-ws-bench-")
        cleanup.callback(shutil.rmtree, objects, ignore_errors=True)
        urls = {k: cleanup.enter_context(postgres_database(v, admin)) for k, v in names.items()}
        for key, url in urls.items():
            c = cleanup.enter_context(Client(url, objects=objects, user="bench"))
            c.create_workspace(SMALL)
            if key == "shared":
                c.create_workspace(BIG)
                print(
                    f"seeding {BIG}: {args.big_models} models x {args.per} versions ...", flush=True
                )
                seeded[BIG] = seed(url, BIG, args.big_models, args.per)
                print(f"  {seeded[BIG]:.0f} s", flush=True)
            seeded[f"{SMALL} ({key})"] = seed(url, SMALL, 10, 100)
            small = cleanup.enter_context(
                Client(url, objects=objects, user="bench", workspace=SMALL)
            )
            regs[key] = small.registry
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for r in range(args.rounds):
            for key in ("alone", "shared") if r % 2 == 0 else ("shared", "alone"):
                for op, fn in lookups(regs[key]).items():
                    results.setdefault((key, op), []).append(latencies(fn, args.calls))
            print(f"round {r + 1}/{args.rounds} done (load {os.getloadavg()[0]:.1f})", flush=True)
        rows = []
        for op in lookups(regs["alone"]):
            alone = [results[("alone", op)][i] for i in range(args.rounds)]
            shared = [results[("shared", op)][i] for i in range(args.rounds)]
            p50a, p99a = (
                statistics.median(m for m, _ in alone),
                statistics.median(p for _, p in alone),
            )
            p50s, p99s = (
                statistics.median(m for m, _ in shared),
                statistics.median(p for _, p in shared),
            )
            ratio = p99s / p99a
            rows.append(
                [
                    op,
                    f"{p50a:.2f} / {p99a:.2f}",
                    f"{p50s:.2f} / {p99s:.2f}",
                    f"{ratio:.2f}x",
                    "<= 1.2x",
                    "yes" if ratio <= 1.2 else "no",
                ]
            )
        print()
        print(f"{machine()}, {today()}, load average {os.getloadavg()[0]:.1f}")
        print(
            f"{SMALL}: 10 models x 100 versions; {BIG}: {args.big_models} models x {args.per}"
            f" versions (seeded in {seeded.get(BIG, 0):.0f} s); median of {args.rounds} rounds of"
            f" {args.calls} calls, the databases alternating"
        )
        print(
            table(
                [
                    "lookup in the small workspace",
                    "alone p50 / p99 ms",
                    f"beside {args.big_models * args.per:,} p50 / p99 ms",
                    "p99 ratio",
                    "target",
                    "met",
                ],
                rows,
            )
        )


if __name__ == "__main__":
    main()
