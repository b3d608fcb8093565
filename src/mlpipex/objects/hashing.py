"""blake3 hashing of files: memory-mapped, multi-threaded, in chunks so progress can be shown."""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from pathlib import Path

import blake3

Progress = Callable[[int], None]

CHUNK = 64 * 1024 * 1024
_SMALL = 1024 * 1024


def hash_bytes(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


def hash_file(path: str | os.PathLike[str], progress: Progress | None = None) -> tuple[str, int]:
    """Return (blake3 hex, size) of a local file, reading it once and never whole into memory."""
    p = Path(path)
    with p.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < _SMALL:
            data = f.read()
            if progress:
                progress(len(data))
            return blake3.blake3(data).hexdigest(), len(data)
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            view = memoryview(mm)
            try:
                for start in range(0, size, CHUNK):
                    part = view[start : start + CHUNK]
                    hasher.update(part)
                    part.release()
                    if progress:
                        progress(min(CHUNK, size - start))
            finally:
                view.release()
        return hasher.hexdigest(), size
