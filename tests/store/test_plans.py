"""Query plans that keep the registry fast as it grows, even after statistics say one model
holds every version (ANALYZE, or SQLite's own PRAGMA optimize)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mlpipex.store import Store, registry
from mlpipex.store import schema as t
from mlpipex.store.mlflow import records
from tests.conftest import PG_SERVER, _reset_postgres, statements_sent


def _many_versions(
    tmp_path: Path, stage: Callable[[int], str], *, analyzed: bool = True, url: str | None = None
) -> tuple[Store, int]:
    """A model with 3,000 versions (version i in stage(i)), its statistics analyzed or not, in
    a SQLite file (or the database at url)."""
    store = Store(url or f"sqlite:///{tmp_path / 'registry.db'}")
    with store.write() as conn:
        mid = registry.insert_model(conn, "default", "m", "", None, 0)
        conn.execute(
            sa.insert(t.versions),
            [
                dict(
                    model_id=mid,
                    version=i,
                    stage=stage(i),
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
    if analyzed:
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return store, mid


def _plan(conn: sa.Connection, captured: list[str], params: tuple[Any, ...]) -> str:
    stmt = next(s for s in captured if "FROM model_versions" in s)
    return " ".join(str(r) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params))


def test_listing_versions_walks_the_index_and_stops_at_the_limit(tmp_path: Path) -> None:
    store, mid = _many_versions(tmp_path, lambda i: "None")
    with statements_sent(store.engine) as captured, store.read() as conn:
        rows = registry.version_rows(conn, mid, limit=101)
        assert [r.version for r in rows[:3]] == [3000, 2999, 2998]
        plan = _plan(conn, captured, (mid, 101, 0))
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan


def _stages(i: int) -> str:
    return {1500: "Production", 2999: "Staging"}.get(i, "Archived" if i < 100 else "None")


def _check_latest(conn: sa.Connection, mid: int) -> None:
    latest = records.latest_per_stage(conn, mid)
    assert [(v.version, v.stage) for v, _ in latest] == [
        (99, "Archived"),
        (1500, "Production"),
        (2999, "Staging"),
        (3000, "None"),
    ]


def _explained(conn: sa.Connection, mid: int, prefix: str) -> list[str]:
    """The plan lines of the newest-per-stage statement for model mid, as the dialect gives them."""
    q = records._latest_per_stage(conn.dialect.name == "postgresql").compile(dialect=conn.dialect)
    params = q.construct_params({"id": mid})
    if q.positiontup is not None:  # SQLite's qmark style takes them in order
        return [
            str(r)
            for r in conn.exec_driver_sql(prefix + str(q), tuple(params[k] for k in q.positiontup))
        ]
    return [r[0] for r in conn.exec_driver_sql(prefix + str(q), params)]


@pytest.mark.parametrize("analyzed", [False, True])
def test_the_newest_in_each_stage_is_found_by_a_seek_per_stage(
    tmp_path: Path, analyzed: bool
) -> None:
    # what MLflow's registered-models/get shows: the stages, then each stage's newest version,
    # each found by one step in the (model, stage, version) index; nothing walks the model's
    # versions (grouping them took 2.9 ms a call at 12,000 versions)
    store, mid = _many_versions(tmp_path, _stages, analyzed=analyzed)
    with store.read() as conn:
        _check_latest(conn, mid)
        plan = " ".join(_explained(conn, mid, "EXPLAIN QUERY PLAN "))
    seek = "USING COVERING INDEX ix_model_versions_model_stage_version (model_id=? AND stage"
    assert plan.count(seek) == 2, plan  # the next stage, and the newest in it
    assert "model_versions USING INTEGER PRIMARY KEY" in plan, plan
    assert not re.search(r"SCAN (model_versions|s|a|n)\b", plan), plan


@pytest.mark.skipif(PG_SERVER is None, reason="MLPIPEX_TEST_POSTGRES_URL is not set")
@pytest.mark.parametrize("analyzed", [False, True])
def test_postgresql_reads_one_row_a_seek_with_or_without_statistics(
    tmp_path: Path, pg_url: str, analyzed: bool
) -> None:
    # before its statistics, PostgreSQL took every table for one row: it aggregated every
    # version for min(stage), and hashed the model's versions against the stages' newest ids
    _reset_postgres(pg_url)
    try:
        store, mid = _many_versions(tmp_path, _stages, analyzed=analyzed, url=pg_url)
        with store.read() as conn:
            _check_latest(conn, mid)
            lines = _explained(conn, mid, "EXPLAIN ANALYZE ")
        store.engine.dispose()
        scans = [line for line in lines if re.search(r" on model_versions\b", line)]
        read = [int(re.search(r"actual time=\S+ rows=(\d+)", line)[1]) for line in scans]  # type: ignore[index]
        assert scans and max(read) <= 1, scans
    finally:
        _reset_postgres(pg_url)
