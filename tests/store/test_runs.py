"""A run read back is the run written, field by field, whether read by id or by a search, on
SQLite and PostgreSQL (RunRecord.of takes a row by position)."""

from __future__ import annotations

from mlpipex.store import Store
from mlpipex.store.tracking import runs
from mlpipex.store.tracking.records import RunRecord
from mlpipex.store.tracking.search import run_search


def test_a_run_reads_back_as_written_by_id_and_by_search(store: Store) -> None:
    with store.write() as conn:
        eid = runs.insert_experiment(conn, "default", "readback", 0)
        # every field a value no other field holds, so a field read from another's column shows
        run = RunRecord(
            "1" * 32, eid, "name", "FINISHED", "active", "user", 10, 20, "2" * 32, "c" * 40, True,
            "train.py",
        )  # fmt: skip
        runs.insert_run(conn, run)
    with store.read() as conn:
        found = runs.run_row(conn, "default", run.id)
        page = runs.search_run_rows(
            conn, run_search((), (), store.dialect, False), "default", [eid], ["active"], 10, 0
        )
        assert runs.run_row(conn, "other", run.id) is None
    assert found == run and page == [run]
    assert found.commit_dirty is True  # a bool on SQLite too, not the 1 it stores
