"""UI benchmark (issue 8): server-side render time of each page with 10,000 versions of one model
and 10,000 events, on SQLite and PostgreSQL. The app runs in-process, so the time is the
server's (routing, queries, template), not the network's or the browser's.

    .venv/bin/python bench/ui.py [--versions 10000] [--events 10000] [--calls 100] [--no-postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import latencies, machine, postgres, table, today
from fastapi.testclient import TestClient
from registry import MODEL, seed

from mlpipex.client import Client
from mlpipex.server import ServerSettings, create_app
from mlpipex.store.events import log as events

TARGET_MS = 200.0


def seed_ui(client: Client, versions: int, n_events: int) -> None:
    """The registry benchmark's versions, some of them in stages, and many events (appended in
    one transaction, as tags set by several actors)."""
    seed(client, versions)
    for v in (versions // 4, versions // 3):
        client.promote(MODEL, v, "Staging")
    client.promote(MODEL, versions // 2, "Production")
    reg = client.registry
    with reg.store.write() as conn:
        for i in range(n_events):
            events.append(
                conn,
                reg.workspace,
                time=reg.clock(),
                actor=("ci", "alice", "bob", "carol")[i % 4],
                kind="tag_set",
                model=MODEL,
                version=1 + i % versions,
                payload={"key": f"k{i}", "value": "v"},
            )


def pages(versions: int) -> list[tuple[str, str]]:
    return [
        ("models", "/"),
        ("models, filtered (htmx)", f"/?q={MODEL[:3]}"),
        ("model: newest versions", f"/ui/models/{MODEL}"),
        ("model: a middle page", f"/ui/models/{MODEL}?before={versions // 2}"),
        ("model: versions in Staging", f"/ui/models/{MODEL}?stage=Staging"),
        ("version", f"/ui/models/{MODEL}/versions/{versions // 2}"),
        ("audit log", "/ui/audit"),
        ("audit log, kind filter", "/ui/audit?kind=transition_done"),
        ("audit log, actor filter", "/ui/audit?actor=carol"),
        ("audit log, model + older page", f"/ui/audit?model={MODEL}&before={versions // 2}"),
        ("experiments", "/ui/experiments"),
        ("endpoints", "/ui/endpoints"),
    ]


def measure(label: str, uri: str, objects: str, args: argparse.Namespace) -> list[list[str]]:
    client = Client(uri, objects=objects, user="bench")
    seed_ui(client, args.versions, args.events)
    client.close()
    rows = []
    with TestClient(create_app(ServerSettings(store=uri, objects=objects))) as ui:
        for name, path in pages(args.versions):
            assert ui.get(path).status_code == 200, path
            med, p99 = latencies(lambda p=path: ui.get(p), args.calls, warmup=5)  # type: ignore[misc]
            ok = "yes" if p99 < TARGET_MS else "NO"
            rows.append([label, name, f"{med:.1f}", f"{p99:.1f}", ok])
        hx = {"HX-Request": "true"}
        med, p99 = latencies(lambda: ui.get("/ui/audit/verify", headers=hx), 5, warmup=1)
        rows.append([label, "chain verification (after the page)", f"{med:.1f}", f"{p99:.1f}", "-"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--versions", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    print(f"# UI benchmark — {machine()} — {today()}\n")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        rows += measure("SQLite", str(Path(d) / ".mlpipex"), str(Path(d) / "objects"), args)
    if not args.no_postgres:
        with postgres() as url, tempfile.TemporaryDirectory() as d:
            rows += measure("PostgreSQL", url, str(Path(d) / "objects"), args)
    print(
        f"Server-side time per page, {args.versions:,} versions of one model and "
        f"{args.events:,} events (ms):\n"
    )
    print(table(["store", "page", "median", "p99", f"p99 < {TARGET_MS:.0f} ms"], rows))


if __name__ == "__main__":
    main()
