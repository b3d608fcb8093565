"""Version lookup benchmark (issue 19): `show NAME@ALIAS` with n versions of one model, on SQLite
and PostgreSQL, through the service and through the CLI in-process; the median of several
rounds' median and p99, and how many statements one lookup sends.

    .venv/bin/python bench/lookup.py [--versions 100000] [--rounds 7] [--calls 300]

PostgreSQL: MLPIPEX_BENCH_POSTGRES_URL (an empty database), else a throwaway server.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from _common import latencies, machine, postgres, table, today
from registry import MODEL, seed

from mlpipex.cli.main import main as cli
from mlpipex.client import Client
from mlpipex.service.registry import versions

REF = f"{MODEL}@champion"


def rounds(fn: Callable[[], object], n: int, calls: int) -> tuple[float, float]:
    """The median over n rounds of each round's (median, p99), in ms."""
    got = [latencies(fn, calls) for _ in range(n)]
    return statistics.median(m for m, _ in got), statistics.median(p for _, p in got)


def statements(client: Client) -> int:
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's own, no round trip
            sent.append(statement)

    engine = client.registry.store.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    versions.get_version(client.registry, REF)
    sa.event.remove(engine, "before_cursor_execute", count)
    return len(sent)


def measure(label: str, uri: str, objects: str, n: int, r: int, calls: int) -> list[list[str]]:
    client = Client(uri, objects=objects, user="bench")
    seed(client, n)
    os.environ.update({"MLPIPEX_URI": uri, "MLPIPEX_OBJECTS": objects})

    def run_cli() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli(["show", REF]) == 0

    service = rounds(lambda: versions.get_version(client.registry, REF), r, calls)
    through_cli = rounds(run_cli, r, calls // 3)
    count = str(statements(client))
    client.close()
    return [
        [label, "service", count, f"{service[0]:.2f}", f"{service[1]:.2f}", "5"],
        [label, "CLI in-process", count, f"{through_cli[0]:.2f}", f"{through_cli[1]:.2f}", "5"],
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--versions", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    print(f"# version lookup — {machine()} — {today()}\n")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        uri, objects = str(Path(d) / ".mlpipex"), str(Path(d) / "objects")
        rows += measure("SQLite", uri, objects, args.versions, args.rounds, args.calls)
    with postgres() as url, tempfile.TemporaryDirectory() as d:
        objects = str(Path(d) / "objects")
        rows += measure("PostgreSQL", url, objects, args.versions, args.rounds, args.calls)
    print(f"`show {REF}`, {args.versions:,} versions, median of {args.rounds} rounds (ms):\n")
    heads = ["store", "through", "statements", "median", "p99", "p99 target"]
    print(table(heads, rows))


if __name__ == "__main__":
    main()
