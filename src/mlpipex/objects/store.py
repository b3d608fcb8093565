"""The object store's contract and what every backend shares: ``<root>/<2 hex>/<62 hex>``,
written through one atomic-write helper, verified on read. Backends: ``local.py`` (plain files)
and ``remote.py`` (any fsspec filesystem); ``open.py`` picks one from a URL."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import blake3

from mlpipex.domain.digest import is_object_digest
from mlpipex.domain.manifest import FileEntry
from mlpipex.errors import Corrupt, Invalid, NotFound
from mlpipex.objects.hashing import Progress, hash_bytes, hash_file
from mlpipex.objects.writer import BatchWriter

READ_CHUNK = 8 * 1024 * 1024
PARALLEL_MIN = 64 * 1024 * 1024
HOST = socket.gethostname()


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class TempFile:
    """A write in progress (or abandoned): ``owner_alive`` is False when its process is gone."""

    path: str
    mtime: float
    owner_alive: bool


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    mtime: float


class ObjectStore(ABC):
    """Immutable bytes by blake3 digest. Writes go to a temporary name under ``<root>/tmp`` and
    are published whole (``_staged`` then ``_publish``), so a reader never sees half an object."""

    def __init__(self, url: str, root: str) -> None:
        self.url = url
        self.root = root.rstrip("/")

    # -- naming ------------------------------------------------------------------------------
    def path(self, digest: str) -> str:
        if not is_object_digest(digest):
            raise Invalid(f"{digest!r} is not an object digest (64 lowercase hex characters)")
        return f"{self.root}/{digest[:2]}/{digest[2:]}"

    # -- what a backend provides -------------------------------------------------------------
    @abstractmethod
    def exists(self, digest: str) -> bool: ...

    @abstractmethod
    def info(self, digest: str) -> ObjectInfo:
        """Size and modification time; NotFound when absent."""

    @abstractmethod
    def iter_digests(self) -> Iterator[str]: ...

    @abstractmethod
    def _open_read(self, path: str) -> IO[bytes]: ...

    @abstractmethod
    def _open_write(self, tmp: str, size: int | None = None) -> IO[bytes]:
        """A new file at tmp; size, when known, is how many bytes will be written to it."""

    @abstractmethod
    def _copy_in(self, src: str, tmp: str) -> None:
        """Copy the local file src to the temporary name tmp."""

    @abstractmethod
    def _publish(self, tmp: str, digest: str) -> None:
        """Move a complete temporary write to its digest's name (or drop it when present)."""

    @abstractmethod
    def _temp_entries(self) -> list[tuple[str, float]]:
        """(path, mtime) of every file under ``<root>/tmp``."""

    @abstractmethod
    def remove_path(self, path: str) -> None:
        """Delete a path in the store; an absent one is fine."""

    # -- the atomic-write helper -------------------------------------------------------------
    @contextlib.contextmanager
    def _staged(self) -> Iterator[str]:
        """A fresh temporary name, removed when the write fails before it was published."""
        tmp = f"{self.root}/tmp/{HOST}.{os.getpid()}.{uuid.uuid4().hex}"
        try:
            yield tmp
        except BaseException:
            self.remove_path(tmp)
            raise

    # -- queries -----------------------------------------------------------------------------
    def missing(self, digests: Iterable[str]) -> set[str]:
        return {d for d in set(digests) if not self.exists(d)}

    def size(self, digest: str) -> int:
        return self.info(digest).size

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

        ``likely_stored`` (the caller has seen these bytes before) asks to hash first, so
        storing them again reads them only once."""
        src = os.fspath(src)
        if digest is None and not likely_stored and (done := self._hash_and_copy(src, progress)):
            return done
        if digest is None:
            digest, size = hash_file(src, progress)
        else:
            size = os.path.getsize(src)
        if not self._refresh(digest):
            self._write_file(src, digest)
        return FileEntry(os.path.basename(src), digest, size)

    def _hash_and_copy(self, src: str, progress: Progress | None) -> FileEntry | None:
        """A backend may store a new file while hashing it; None: hash first, then copy."""
        return None

    def _write_file(self, src: str, digest: str) -> None:
        with self._staged() as tmp:
            self._copy_in(src, tmp)
            self._publish(tmp, digest)

    def _refresh(self, digest: str) -> bool:
        """True when the object is already stored (a backend may also renew its age for gc)."""
        return self.exists(digest)

    def put_bytes(self, data: bytes) -> str:
        digest = hash_bytes(data)
        if not self._refresh(digest):
            with self._staged() as tmp:
                with self._open_write(tmp) as f:
                    f.write(data)
                self._publish(tmp, digest)
        return digest

    def put_stream(
        self, stream: Readable, expected: str | None = None, size: int | None = None
    ) -> FileEntry:
        """Store bytes read from a stream (an upload), hashing as they arrive; size: how many
        the stream will give, when known (the upload's Content-Length).

        The chunks are written by a second thread (``writer.BatchWriter``) while this one
        hashes them (hashing and writing release the GIL): an upload then takes the longer of
        the two, not their sum."""
        hasher = blake3.blake3()
        declared, size = size, 0
        with self._staged() as tmp:
            with self._open_write(tmp, declared) as out, BatchWriter(out.writelines) as writer:
                while chunk := stream.read(READ_CHUNK):
                    writer.add(chunk)  # first, so that its batch's write starts meanwhile
                    hasher.update(chunk)
                    size += len(chunk)
            digest = hasher.hexdigest()
            if expected is not None and expected != digest:
                raise Corrupt(f"upload has digest {digest}, expected {expected}")
            self._publish(tmp, digest)
        return FileEntry("", digest, size)

    def remove(self, digest: str) -> None:
        self.remove_path(self.path(digest))

    # -- reads, always verified --------------------------------------------------------------
    def open(self, digest: str) -> VerifyingReader:
        try:
            f = self._open_read(self.path(digest))
        except FileNotFoundError as exc:
            raise NotFound(f"object {digest} is not in {self.url}") from exc
        return VerifyingReader(f, digest)

    def read_bytes(self, digest: str) -> bytes:
        with self.open(digest) as r:
            return r.read()

    def verify(self, digest: str) -> bool:
        """Re-hash an object; False when its bytes no longer match its name."""
        try:
            with self.open(digest) as r:
                while r.read(READ_CHUNK):
                    pass
            return True
        except Corrupt:
            return False

    def local_path(self, digest: str) -> str:
        """The verified path of an object on a local store (for loading without a copy)."""
        raise Invalid(f"{self.url} is not a local store")

    def get_file(
        self, digest: str, dest: str | os.PathLike[str], progress: Progress | None = None
    ) -> None:
        """Copy an object to dest, verified; dest appears only when complete and correct."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            self._fetch(digest, str(tmp), progress)
            os.replace(tmp, dest)
        except FileNotFoundError as exc:
            raise NotFound(f"object {digest} is not in {self.url}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _fetch(self, digest: str, tmp: str, progress: Progress | None) -> None:
        with self.open(digest) as r, open(tmp, "wb") as out:
            while chunk := r.read(READ_CHUNK):
                out.write(chunk)
                if progress:
                    progress(len(chunk))

    # -- writes in progress ------------------------------------------------------------------
    def temp_files(self) -> list[TempFile]:
        out = []
        for path, mtime in self._temp_entries():
            host, _, rest = path.rsplit("/", 1)[-1].partition(".")
            pid = rest.partition(".")[0]
            alive = host != HOST or not pid.isdigit() or _pid_alive(int(pid))
            out.append(TempFile(path, mtime, alive))
        return out


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
