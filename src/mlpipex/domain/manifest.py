"""Artifact manifests: the files of a model or dataset, each with its digest and size."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import blake3

from mlpipex.errors import Invalid


def safe_relpath(path: str) -> str:
    """path if it is a plain relative POSIX path that stays inside its root, else Invalid."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or any(c < " " or c == "\x7f" for c in path)  # NUL, newlines: no file system keeps them
        or any(p in {"", ".", ".."} for p in parts)
    ):
        raise Invalid(
            f"unsafe artifact path {path!r}: use a relative path without '..' or control characters"
        )
    return path


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of an artifact: a POSIX path relative to the artifact root."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True, slots=True)
class Manifest:
    """A file (one entry with path ``""`` is not used: a single file keeps its name) or a tree."""

    files: tuple[FileEntry, ...]

    @classmethod
    def of(cls, entries: Iterable[FileEntry]) -> Manifest:
        """A manifest of entries, every path checked to stay inside the artifact's root."""
        files = tuple(sorted(entries, key=lambda e: e.path))
        for e in files:
            safe_relpath(e.path)
        return cls(files)

    @property
    def size(self) -> int:
        return sum(e.size for e in self.files)

    def to_json(self) -> bytes:
        rows = [{"path": e.path, "digest": e.digest, "size": e.size} for e in self.files]
        return json.dumps(rows, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        return cls.of(FileEntry(r["path"], r["digest"], int(r["size"])) for r in json.loads(data))

    @property
    def digest(self) -> str:
        """The identity of the whole artifact: blake3 of its canonical JSON."""
        return blake3.blake3(self.to_json()).hexdigest()


# An external reference (a version whose files live elsewhere) has the empty manifest: a
# registration with files never does, so the digest alone says a version cannot be deployed.
EXTERNAL_DIGEST = Manifest.of(()).digest


def require_deployable(ref: str, digest: str, source: str | None = None) -> None:
    """Refuse to deploy or serve a version recorded as an external reference."""
    if digest == EXTERNAL_DIGEST:
        where = f" ({source})" if source else ""
        raise Invalid(
            f"{ref} is an external reference{where}: its files are not in this registry, so it "
            "cannot be deployed or served",
            hint="register the model's files (mlpipex register, or log_model then register)",
        )
