"""The object store on any fsspec filesystem (s3, gs, az, ssh...): one listing answers
``missing()`` for many digests, and stores whose PUT is atomic skip the temporary name."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import fsspec

from mlpipex.domain.digest import is_object_digest
from mlpipex.errors import NotFound
from mlpipex.objects.store import ObjectInfo, ObjectStore

# Object stores whose PUT is atomic: a key appears whole or not at all, so no temporary name.
_ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"}
# Up to this many digests, ask per object (in parallel); past it, list the store once.
_ASK_UP_TO = 16


class FsspecStore(ObjectStore):
    """Objects on an fsspec filesystem."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        fs, root = fsspec.core.url_to_fs(url, **storage_options)
        super().__init__(url, root)
        self.fs: fsspec.AbstractFileSystem = fs
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        self._atomic_put = protocol in _ATOMIC_PUT

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self.path(digest)))

    def missing(self, digests: Iterable[str]) -> set[str]:
        wanted = set(digests)
        for d in wanted:
            self.path(d)  # validates each digest before any request
        if len(wanted) <= _ASK_UP_TO:
            with ThreadPoolExecutor(min(8, len(wanted) or 1)) as pool:
                flags = dict(zip(wanted, pool.map(self.exists, wanted), strict=True))
            return {d for d, ok in flags.items() if not ok}
        return wanted - set(self.iter_digests())

    def info(self, digest: str) -> ObjectInfo:
        try:
            info = self.fs.info(self.path(digest))
        except FileNotFoundError as exc:
            raise NotFound(f"object {digest} is not in {self.url}") from exc
        return ObjectInfo(int(info.get("size") or 0), _mtime(info, 0.0))

    def iter_digests(self) -> Iterator[str]:
        with contextlib.suppress(FileNotFoundError):
            for p in self.fs.find(self.root):
                parts = p.rstrip("/").split("/")
                if len(parts) >= 2 and is_object_digest(parts[-2] + parts[-1]):
                    yield parts[-2] + parts[-1]

    # -- writes ------------------------------------------------------------------------------
    def _write_file(self, src: str, digest: str) -> None:
        if self._atomic_put:
            self.fs.put_file(src, self.path(digest))
        else:
            super()._write_file(src, digest)

    def put_bytes(self, data: bytes) -> str:
        if not self._atomic_put:
            return super().put_bytes(data)
        from mlpipex.objects.hashing import hash_bytes

        digest = hash_bytes(data)
        if not self.exists(digest):
            self.fs.pipe_file(self.path(digest), data)
        return digest

    def _open_write(self, tmp: str, size: int | None = None) -> IO[bytes]:
        f: IO[bytes] = self.fs.open(tmp, "wb")
        return f

    def _copy_in(self, src: str, tmp: str) -> None:
        self.fs.put_file(src, tmp)

    def _publish(self, tmp: str, digest: str) -> None:
        if self.exists(digest):
            self.remove_path(tmp)
        else:
            self.fs.mv(tmp, self.path(digest))

    def remove_path(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(path)

    # -- reads -------------------------------------------------------------------------------
    def _open_read(self, path: str) -> IO[bytes]:
        f: IO[bytes] = self.fs.open(path, "rb")
        return f

    def _temp_entries(self) -> list[tuple[str, float]]:
        try:
            infos = self.fs.ls(f"{self.root}/tmp", detail=True)
        except FileNotFoundError:
            return []
        return [(i["name"], _mtime(i, time.time())) for i in infos]


def _mtime(info: dict[str, Any], default: float) -> float:
    mtime = info.get("mtime") or info.get("LastModified") or info.get("created") or default
    return float(mtime if isinstance(mtime, (int, float)) else mtime.timestamp())
