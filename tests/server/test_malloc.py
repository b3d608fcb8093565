"""The allocator's tuning for uploads: set for this process and the workers it starts, never
over a value the user has set."""

from __future__ import annotations

import os

import pytest

from mlpipex.server import malloc


def test_the_server_process_and_its_workers_keep_upload_buffers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(malloc, "_mallopt", lambda: lambda p, v: calls.append((p, v)) or 1)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "4096")  # the user's own
    malloc.keep_upload_buffers()
    assert os.environ["MALLOC_MMAP_THRESHOLD_"] == str(8 << 20)  # for worker processes
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "4096"
    assert calls == [(-3, 8 << 20)]  # M_MMAP_THRESHOLD here; the user's trim left alone


def test_the_real_mallopt_is_found_on_linux() -> None:
    mallopt = malloc._mallopt()
    if os.uname().sysname == "Linux":
        assert mallopt is not None and mallopt(-3, 8 << 20) == 1  # glibc answers 1 on success
