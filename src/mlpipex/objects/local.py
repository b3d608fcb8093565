"""The object store in a local folder: plain files, hardly any Python between disk and disk."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO

from mlpipex.domain.digest import is_object_digest
from mlpipex.domain.manifest import FileEntry
from mlpipex.errors import Corrupt, NotFound
from mlpipex.objects.copy import copy_file
from mlpipex.objects.hashing import Progress, hash_file
from mlpipex.objects.store import PARALLEL_MIN, ObjectInfo, ObjectStore
from mlpipex.objects.writer import WRITE_BATCH

_KEEP_SIZE = 1  # FALLOC_FL_KEEP_SIZE: reserve the blocks, leave the file's length alone


class LocalStore(ObjectStore):
    """Objects as read-only files under a folder."""

    def __init__(self, root: str) -> None:
        super().__init__(root, os.path.abspath(root))

    def exists(self, digest: str) -> bool:
        return os.path.exists(self.path(digest))

    def info(self, digest: str) -> ObjectInfo:
        try:
            st = os.stat(self.path(digest))
        except FileNotFoundError as exc:
            raise NotFound(f"object {digest} is not in {self.url}") from exc
        return ObjectInfo(st.st_size, st.st_mtime)

    def iter_digests(self) -> Iterator[str]:
        if not os.path.isdir(self.root):
            return
        for fan in os.scandir(self.root):
            if len(fan.name) != 2 or not fan.is_dir():
                continue
            for obj in os.scandir(fan.path):
                if is_object_digest(fan.name + obj.name):
                    yield fan.name + obj.name

    # -- writes ------------------------------------------------------------------------------
    def _hash_and_copy(self, src: str, progress: Progress | None) -> FileEntry | None:
        """A large file is hashed and copied at once: both read the same pages, so it is read
        from disk once, as `cp` does. Bytes already stored cost the (parallel, cached) copy."""
        if os.path.getsize(src) < PARALLEL_MIN:
            return None
        with self._staged() as tmp, ThreadPoolExecutor(1) as pool:
            copying = pool.submit(self._copy_in, src, tmp)
            try:
                digest, size = hash_file(src, progress)
            finally:
                copying.result()
            self._publish(tmp, digest)
        return FileEntry(os.path.basename(src), digest, size)

    def _refresh(self, digest: str) -> bool:
        final = self.path(digest)
        if not os.path.exists(final):
            return False
        # Renew the age gc reads, so an old unreferenced object about to be referenced again is
        # not collected under this write.
        with contextlib.suppress(OSError):
            os.utime(final)
        return True

    def _open_write(self, tmp: str, size: int | None = None) -> IO[bytes]:
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
        f = open(tmp, "xb")  # noqa: SIM115 - the caller closes it
        if size is not None and size >= WRITE_BATCH:
            _preallocate(f.fileno(), size)
        return f

    def _copy_in(self, src: str, tmp: str) -> None:
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
        copy_file(src, tmp)

    def _publish(self, tmp: str, digest: str) -> None:
        if self._refresh(digest):
            os.unlink(tmp)
            return
        final = self.path(digest)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)

    def remove_path(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    # -- reads -------------------------------------------------------------------------------
    def _open_read(self, path: str) -> IO[bytes]:
        return open(path, "rb")

    def verify(self, digest: str) -> bool:
        try:
            return hash_file(self.path(digest))[0] == digest
        except FileNotFoundError as exc:
            raise NotFound(f"object {digest} is not in {self.url}") from exc

    def local_path(self, digest: str) -> str:
        if not self.verify(digest):
            raise Corrupt(f"object {digest} in {self.url} does not match its digest")
        return self.path(digest)

    def _fetch(self, digest: str, tmp: str, progress: Progress | None) -> None:
        copy_file(self.path(digest), tmp, progress)
        if hash_file(tmp)[0] != digest:
            raise Corrupt(f"object {digest} in {self.url} does not match its digest")

    def _temp_entries(self) -> list[tuple[str, float]]:
        try:
            entries = list(os.scandir(f"{self.root}/tmp"))
        except FileNotFoundError:
            return []
        out = []
        for e in entries:
            with contextlib.suppress(FileNotFoundError):
                out.append((e.path, e.stat().st_mtime))
        return out


def _preallocate(fd: int, size: int) -> None:
    """Reserve a file's blocks before it is written: ext4 then writes into blocks it has,
    instead of reserving them page by page (a 100 MB write took 40 % less CPU). Only a hint:
    where the call or the filesystem cannot, nothing happens. Not ``os.posix_fallocate``: glibc
    emulates that by writing into every block where the filesystem has no fallocate."""
    if (fallocate := _fallocate()) is not None:
        fallocate(fd, _KEEP_SIZE, 0, size)


@functools.cache
def _fallocate() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).fallocate
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    call.restype = ctypes.c_int
    fallocate: Callable[[int, int, int, int], int] = call
    return fallocate
