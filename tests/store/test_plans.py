"""Query plans that keep the registry fast as it grows, even after statistics say one model
holds every version (ANALYZE, or SQLite's own PRAGMA optimize)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from mlpipex.store import Store, registry
from mlpipex.store import schema as t
from tests.conftest import statements_sent


def test_listing_versions_walks_the_index_and_stops_at_the_limit(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'registry.db'}")
    with store.write() as conn:
        mid = registry.insert_model(conn, "default", "m", "", None, 0)
        conn.execute(
            sa.insert(t.versions),
            [
                dict(
                    model_id=mid,
                    version=i,
                    stage="None",
                    status="READY",
                    description="",
                    commit="c",
                    commit_dirty=False,
                    run_id=None,
                    flavor=None,
                    artifact_digest="d",
                    artifact_size=1,
                    created_at=i,
                    created_by="b",
                    stage_entered_at=i,
                )
                for i in range(1, 3001)
            ],
        )
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    with statements_sent(store.engine) as captured, store.read() as conn:
        rows = registry.version_rows(conn, mid, limit=101)
        assert [r.version for r in rows[:3]] == [3000, 2999, 2998]
        stmt = next(s for s in captured if "FROM model_versions" in s)
        plan = " ".join(
            str(r) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, (mid, 101, 0))
        )
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
