"""What was last hashed, so unchanged files are not hashed again: ``.mlpipex/state.db``.

One row per tracked path (a file, or a directory whose files are kept together): each file's
(inode, mtime_ns, size) and the digest it had then. A file whose three numbers are unchanged is
taken to be unchanged, as git and DVC do. The numbers and the digests are separate blobs, so a
no-op status compares one dict with another and never decodes a digest.
"""

from __future__ import annotations

import contextlib
import marshal
import sqlite3
from pathlib import Path

from mlpipex.errors import Invalid

Stat = tuple[int, int, int]  # inode, mtime_ns, size


class TreeState:
    """A path as last hashed: its digest and, per file ("" for a tracked file), stat and digest."""

    __slots__ = ("_blob", "_digests", "digest", "isdir", "size", "stats")

    def __init__(
        self,
        digest: str,
        isdir: bool,
        size: int,
        stats: dict[str, Stat],
        digests: dict[str, str] | None = None,
        blob: bytes = b"",
    ) -> None:
        self.digest = digest
        self.isdir = isdir
        self.size = size
        self.stats = stats
        self._digests = digests
        self._blob = blob

    @property
    def digests(self) -> dict[str, str]:
        if self._digests is None:
            self._digests = marshal.loads(self._blob)
        return self._digests

    @property
    def nfiles(self) -> int:
        return len(self.stats)


class StatCache:
    def __init__(self, meta: Path) -> None:
        self._path = meta / "state.db"
        if self._path.is_symlink():  # sqlite would write wherever it points
            raise Invalid(f"{self._path} is a symbolic link", hint="remove it; it is rebuilt")
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS paths (path TEXT PRIMARY KEY, digest TEXT NOT NULL,"
                " isdir INTEGER NOT NULL, size INTEGER NOT NULL, stats BLOB NOT NULL,"
                " digests BLOB NOT NULL)"
            )
        return self._db

    def get(self, path: str) -> TreeState | None:
        if self._db is None and not self._path.exists():
            return None
        row = (
            self._conn()
            .execute(
                "SELECT digest, isdir, size, stats, digests FROM paths WHERE path = ?", (path,)
            )
            .fetchone()
        )
        if row is None:
            return None
        try:
            stats = marshal.loads(row[3])
        except (EOFError, ValueError, TypeError):  # written by another Python: hash again
            return None
        return TreeState(row[0], bool(row[1]), row[2], stats, blob=row[4])

    def put(self, path: str, state: TreeState) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO paths VALUES (?, ?, ?, ?, ?, ?)",
            (
                path,
                state.digest,
                int(state.isdir),
                state.size,
                marshal.dumps(state.stats),
                marshal.dumps(state.digests),
            ),
        )

    def forget(self, path: str) -> None:
        if self._db is not None or self._path.exists():
            self._conn().execute("DELETE FROM paths WHERE path = ?", (path,))

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
