"""The object store on fsspec: ``<root>/<2 hex>/<62 hex>``, written atomically, verified on read."""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import blake3
import fsspec
from fsspec.implementations.local import LocalFileSystem

from mlpipex.domain.digest import is_object_digest
from mlpipex.domain.manifest import FileEntry
from mlpipex.errors import Corrupt, Invalid, NotFound
from mlpipex.objects.copy import copy_file
from mlpipex.objects.hashing import Progress, hash_bytes, hash_file

# Object stores whose PUT is atomic: a key appears whole or not at all, so no temporary name.
_ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"}
_READ_CHUNK = 8 * 1024 * 1024
PARALLEL_MIN = 64 * 1024 * 1024
_HOST = socket.gethostname()


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class TempFile:
    """A write in progress (or abandoned): ``owner_alive`` is False when its process is gone."""

    path: str
    mtime: float
    owner_alive: bool


class ObjectStore:
    """Immutable bytes by blake3 digest on any fsspec filesystem."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.url = url
        fs, root = fsspec.core.url_to_fs(url, **storage_options)
        self.fs: fsspec.AbstractFileSystem = fs
        self.root = root.rstrip("/")
        self.local = isinstance(fs, LocalFileSystem)
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        self._atomic_put = protocol in _ATOMIC_PUT

    # -- naming ------------------------------------------------------------------------------
    def path(self, digest: str) -> str:
        if not is_object_digest(digest):
            raise Invalid(f"{digest!r} is not an object digest (64 lowercase hex characters)")
        return f"{self.root}/{digest[:2]}/{digest[2:]}"

    def _tmp_path(self) -> str:
        return f"{self.root}/tmp/{_HOST}.{os.getpid()}.{uuid.uuid4().hex}"

    # -- queries -----------------------------------------------------------------------------
    def exists(self, digest: str) -> bool:
        if self.local:
            return os.path.exists(self.path(digest))
        return bool(self.fs.exists(self.path(digest)))

    def missing(self, digests: Iterable[str]) -> set[str]:
        return {d for d in set(digests) if not self.exists(d)}

    def size(self, digest: str) -> int:
        try:
            return int(self.fs.size(self.path(digest)))
        except FileNotFoundError as exc:
            raise NotFound(f"object {digest} is not in {self.url}") from exc

    def iter_digests(self) -> Iterator[str]:
        if self.local:
            if not os.path.isdir(self.root):
                return
            for fan in os.scandir(self.root):
                if len(fan.name) != 2 or not fan.is_dir():
                    continue
                for obj in os.scandir(fan.path):
                    if is_object_digest(fan.name + obj.name):
                        yield fan.name + obj.name
            return
        with contextlib.suppress(FileNotFoundError):
            for p in self.fs.find(self.root):
                parts = p.rstrip("/").split("/")
                if len(parts) >= 2 and is_object_digest(parts[-2] + parts[-1]):
                    yield parts[-2] + parts[-1]

    # -- writes ------------------------------------------------------------------------------
    def put_file(
        self,
        src: str | os.PathLike[str],
        *,
        digest: str | None = None,
        progress: Progress | None = None,
        likely_stored: bool = False,
    ) -> FileEntry:
        """Store a local file; identical bytes are stored once. Returns its (digest, size).

        A large new file is hashed and copied at once; ``likely_stored`` (the caller has seen
        these bytes before) hashes first instead, so storing them again reads them only once."""
        src = os.fspath(src)
        large = self.local and os.path.getsize(src) >= PARALLEL_MIN
        if digest is None and large and not likely_stored:
            return self._put_large_local(src, progress)
        if digest is None:
            digest, size = hash_file(src, progress)
        else:
            size = os.path.getsize(src)
        final = self.path(digest)
        if self.exists(digest):
            if self.local:
                # Refresh the age gc reads, so an old unreferenced object about to be
                # referenced again is not collected under this write.
                with contextlib.suppress(OSError):
                    os.utime(final)
            return FileEntry(os.path.basename(src), digest, size)
        if self.local:
            tmp = self._tmp_path()
            os.makedirs(os.path.dirname(tmp), exist_ok=True)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            try:
                copy_file(src, tmp)
                os.chmod(tmp, 0o444)
                os.replace(tmp, final)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        elif self._atomic_put:
            self.fs.put_file(src, final)
        else:
            tmp = self._tmp_path()
            self.fs.put_file(src, tmp)
            self.fs.mv(tmp, final)
        return FileEntry(os.path.basename(src), digest, size)

    def _put_large_local(self, src: str, progress: Progress | None) -> FileEntry:
        """Hash and copy at once: both read the same pages, so the file is read from disk once,
        as `cp` does. Bytes already stored cost the (parallel, cached) copy, then it is dropped."""
        tmp = self._tmp_path()
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
        with ThreadPoolExecutor(1) as pool:
            copying = pool.submit(copy_file, src, tmp)
            try:
                digest, size = hash_file(src, progress)
            finally:
                try:
                    copying.result()
                except BaseException:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)
                    raise
        try:
            final = self.path(digest)
            if os.path.exists(final):
                os.unlink(tmp)
                with contextlib.suppress(OSError):
                    os.utime(final)
            else:
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.chmod(tmp, 0o444)
                os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return FileEntry(os.path.basename(src), digest, size)

    def put_bytes(self, data: bytes) -> str:
        digest = hash_bytes(data)
        if self.exists(digest):
            return digest
        final = self.path(digest)
        if self.local:
            tmp = self._tmp_path()
            os.makedirs(os.path.dirname(tmp), exist_ok=True)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            with open(tmp, "xb") as f:
                f.write(data)
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
        else:
            self.fs.pipe_file(final, data)
        return digest

    def put_stream(self, stream: Readable, expected: str | None = None) -> FileEntry:
        """Store bytes read from a stream (an upload), hashing as they arrive."""
        hasher = blake3.blake3()
        tmp = self._tmp_path()
        if self.local:
            os.makedirs(os.path.dirname(tmp), exist_ok=True)
        size = 0
        try:
            with self.fs.open(tmp, "wb") as out:
                while chunk := stream.read(_READ_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            digest = hasher.hexdigest()
            if expected is not None and expected != digest:
                raise Corrupt(f"upload has digest {digest}, expected {expected}")
            if self.exists(digest):
                self.fs.rm(tmp)
            else:
                if self.local:
                    os.makedirs(os.path.dirname(self.path(digest)), exist_ok=True)
                    os.chmod(tmp, 0o444)
                self.fs.mv(tmp, self.path(digest))
            return FileEntry("", digest, size)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(tmp)
            raise

    def remove(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self.path(digest))

    # -- reads, always verified --------------------------------------------------------------
    def open(self, digest: str) -> VerifyingReader:
        try:
            f = self.fs.open(self.path(digest), "rb")
        except FileNotFoundError as exc:
            raise NotFound(f"object {digest} is not in {self.url}") from exc
        return VerifyingReader(f, digest)

    def read_bytes(self, digest: str) -> bytes:
        with self.open(digest) as r:
            return r.read()

    def verify(self, digest: str) -> bool:
        """Re-hash an object; False when its bytes no longer match its name."""
        if self.local:
            try:
                return hash_file(self.path(digest))[0] == digest
            except FileNotFoundError as exc:
                raise NotFound(f"object {digest} is not in {self.url}") from exc
        try:
            with self.open(digest) as r:
                while r.read(_READ_CHUNK):
                    pass
            return True
        except Corrupt:
            return False

    def local_path(self, digest: str) -> str:
        """The verified path of an object on a local store (for loading without a copy)."""
        if not self.local:
            raise Invalid(f"{self.url} is not a local store")
        if not self.verify(digest):
            raise Corrupt(f"object {digest} in {self.url} does not match its digest")
        return self.path(digest)

    def get_file(
        self, digest: str, dest: str | os.PathLike[str], progress: Progress | None = None
    ) -> None:
        """Copy an object to dest, verified; dest appears only when complete and correct."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            if self.local:
                copy_file(self.path(digest), str(tmp), progress)
                if hash_file(tmp)[0] != digest:
                    raise Corrupt(f"object {digest} in {self.url} does not match its digest")
            else:
                with self.open(digest) as r, open(tmp, "wb") as out:
                    while chunk := r.read(_READ_CHUNK):
                        out.write(chunk)
                        if progress:
                            progress(len(chunk))
            os.replace(tmp, dest)
        except FileNotFoundError as exc:
            raise NotFound(f"object {digest} is not in {self.url}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    # -- writes in progress ------------------------------------------------------------------
    def temp_files(self) -> list[TempFile]:
        base = f"{self.root}/tmp"
        try:
            infos = self.fs.ls(base, detail=True)
        except FileNotFoundError:
            return []
        out = []
        for info in infos:
            name = info["name"].rsplit("/", 1)[-1]
            host, _, rest = name.partition(".")
            pid = rest.partition(".")[0]
            alive = True
            if host == _HOST and pid.isdigit():
                alive = _pid_alive(int(pid))
            mtime = info.get("mtime") or info.get("LastModified") or time.time()
            if not isinstance(mtime, (int, float)):
                mtime = mtime.timestamp()
            out.append(TempFile(info["name"], float(mtime), alive))
        return out

    def remove_path(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(path)


class VerifyingReader:
    """A read stream that raises Corrupt at its end when the bytes do not hash to the name."""

    def __init__(self, f: IO[bytes], digest: str) -> None:
        self._f = f
        self._digest = digest
        self._hasher = blake3.blake3()
        self._done = False

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._hasher.update(data)
        if (not data or n < 0) and not self._done:
            self._done = True
            if self._hasher.hexdigest() != self._digest:
                raise Corrupt(
                    f"object {self._digest} does not match its digest; run `mlpipex fsck`"
                )
        return data

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
