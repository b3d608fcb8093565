"""glibc's allocator kept from handing an upload's buffers back to the kernel between chunks.

An upload passes through buffers of up to 256 KB (one per socket read), freed on another
thread once hashed and written. By default glibc maps each one anew (past its 128 KB threshold)
or trims the heap under it as it is freed, so every chunk's pages are faulted in and zeroed
again: a 1 GB upload cost `mlpipex server` 0.45-0.61 s of system time, 0.28-0.37 s with these
(load 4-7). The threshold also covers the 4 MB reads of a download, which glibc's own
adjustment (that setting it turns off) had kept on the heap. Linux with glibc only; a value
the user has set is kept."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

# mallopt's parameters (malloc.h) and the environment variables glibc reads at start
_SETTINGS = {
    -3: ("MALLOC_MMAP_THRESHOLD_", 8 << 20),  # M_MMAP_THRESHOLD: past any chunk, 4 MB reads too
    -1: ("MALLOC_TRIM_THRESHOLD_", 64 << 20),  # M_TRIM_THRESHOLD: keep what a few transfers use
}


def keep_upload_buffers() -> None:
    """Tune this process (mallopt) and the worker processes it starts (their environment)."""
    mallopt = _mallopt()
    for param, (name, value) in _SETTINGS.items():
        if name in os.environ:
            continue
        os.environ[name] = str(value)
        if mallopt is not None:
            mallopt(param, value)


def _mallopt() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int]
    call.restype = ctypes.c_int
    mallopt: Callable[[int, int], int] = call
    return mallopt
