"""`mlpipex server` keeps its startup heap out of the collector's full scans in each process
that serves (uvicorn spawns its workers, so the supervisor's heap is not theirs); an app built
in process, as tests build it, freezes nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import start_server, stop_server, wait_for

# Loaded by every Python process of the server (the environment reaches its workers): each call
# of gc.freeze is written down with the process's id and how many objects are frozen after it.
_WATCH = """
import gc, os
_freeze = gc.freeze
def _freeze_and_note():
    _freeze()
    with open(os.environ["MLPIPEX_TEST_FREEZES"], "a") as f:
        f.write(f"{os.getpid()} {gc.get_freeze_count()}\\n")
gc.freeze = _freeze_and_note
"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_each_serving_process_freezes_its_startup_heap_once(tmp_path: Path, workers: int) -> None:
    watch = tmp_path / "watch"
    watch.mkdir()
    (watch / "sitecustomize.py").write_text(_WATCH)
    notes = tmp_path / "freezes"
    path = os.pathsep.join(p for p in (str(watch), os.environ.get("PYTHONPATH")) if p)
    env = {"PYTHONPATH": path, "MLPIPEX_TEST_FREEZES": str(notes)}
    proc, url = start_server(
        str(tmp_path / ".mlpipex"), str(tmp_path / "objects"), "--workers", str(workers), env=env
    )
    try:
        assert (
            httpx.get(f"{url}/api/2.0/mlflow/experiments/search?max_results=1").status_code == 200
        )

        def frozen() -> list[tuple[int, int]]:
            lines = notes.read_text().split() if notes.exists() else []
            found = [(int(pid), int(n)) for pid, n in zip(lines[::2], lines[1::2], strict=True)]
            return found if len(found) >= workers else []

        found = wait_for(frozen, 30, f"{workers} serving processes to freeze their heap")
    finally:
        stop_server(proc)
    pids = [pid for pid, _ in found]
    assert len(pids) == len(set(pids)) == workers  # once in each
    if workers == 1:
        assert pids == [proc.pid]  # the process started serves itself
    else:
        assert proc.pid not in pids  # its workers serve, the supervisor does not
    assert all(n > 10_000 for _, n in found)  # the modules and the app, not an empty heap


def test_an_app_built_in_process_freezes_nothing(make_app: Callable[..., TestClient]) -> None:
    import gc

    before = gc.get_freeze_count()
    assert make_app().get("/health").status_code == 200  # its lifespan has run
    assert gc.get_freeze_count() == before
