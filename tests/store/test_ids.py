"""in_ids: a column compared with a list bound as one parameter, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from mlpipex.store import Store
from mlpipex.store import schema as t
from mlpipex.store.ids import in_ids
from mlpipex.store.tracking import runs
from mlpipex.store.tracking.records import RunRecord


def _seed(store: Store, p: str) -> list[int]:
    """Five runs, p0 to p4 (p: unique to the test, the PostgreSQL database being the
    session's), each in an experiment of its own, the odd ones active, each with two tags."""
    with store.write() as conn:
        ids = [runs.insert_experiment(conn, "default", f"{p}{i}", 0) for i in range(5)]
        for n, eid in enumerate(ids):
            run = RunRecord(
                f"{p}{n}",
                eid,
                f"r{n}",
                "RUNNING",
                "active" if n % 2 else "deleted",
                "u",
                n,
                None,
                None,
                None,
                False,
                None,
            )
            runs.insert_run(conn, run, {"k": str(n), "other": "x"})
    return ids


def test_a_list_bound_at_execution_finds_its_rows_whatever_its_length(store: Store) -> None:
    _seed(store, "a")
    with store.read() as conn:
        assert runs.tags_of(conn, ["a1", "a3", "missing"]) == {
            "a1": {"k": "1", "other": "x"},
            "a3": {"k": "3", "other": "x"},
        }
        assert runs.tags_of(conn, []) == {}
        # past SQLite's limit of 32,766 parameters to a statement: still one parameter
        many = [f"a{i}" for i in range(40_000)]
        assert sorted(runs.tags_of(conn, many)) == [f"a{i}" for i in range(5)]


def test_lists_bound_when_built_compare_integers_and_strings(store: Store) -> None:
    ids = _seed(store, "b")
    r = t.runs.c
    q = (
        sa.select(r.id)
        .where(in_ids(r.experiment_id, ids[:3]), in_ids(r.lifecycle_stage, ["active"]))
        .order_by(r.id)
    )
    with store.read() as conn:
        assert conn.execute(q).scalars().all() == ["b1"]
        none = sa.select(r.id).where(in_ids(r.experiment_id, []))
        assert conn.execute(none).all() == []
