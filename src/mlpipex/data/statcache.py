"""What was last hashed, so unchanged files are not hashed again: ``.mlpipex/state.db``.

One row per tracked path (a file, or a directory whose files are kept together in one blob):
each file's (inode, mtime_ns, size) and the digest it had then. A file whose three numbers are
unchanged is taken to be unchanged, as git and DVC do.
"""

from __future__ import annotations

import contextlib
import marshal
import sqlite3
from dataclasses import dataclass
from pathlib import Path

Stat = tuple[int, int, int]  # inode, mtime_ns, size
# Per file, relative to the tracked path ("" for a tracked file): inode, mtime_ns, size, digest.
Files = dict[str, tuple[int, int, int, str]]


@dataclass(frozen=True, slots=True)
class TreeState:
    digest: str
    isdir: bool
    size: int
    files: Files

    @property
    def nfiles(self) -> int:
        return len(self.files)


class StatCache:
    def __init__(self, meta: Path) -> None:
        self._path = meta / "state.db"
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS trees (path TEXT PRIMARY KEY, digest TEXT NOT NULL,"
                " isdir INTEGER NOT NULL, size INTEGER NOT NULL, files BLOB NOT NULL)"
            )
        return self._db

    def get(self, path: str) -> TreeState | None:
        if self._db is None and not self._path.exists():
            return None
        row = (
            self._conn()
            .execute("SELECT digest, isdir, size, files FROM trees WHERE path = ?", (path,))
            .fetchone()
        )
        if row is None:
            return None
        try:
            files = marshal.loads(row[3])
        except (EOFError, ValueError, TypeError):  # written by another Python: hash again
            return None
        return TreeState(row[0], bool(row[1]), row[2], files)

    def put(self, path: str, state: TreeState) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO trees VALUES (?, ?, ?, ?, ?)",
            (path, state.digest, int(state.isdir), state.size, marshal.dumps(state.files)),
        )

    def forget(self, path: str) -> None:
        if self._db is not None or self._path.exists():
            self._conn().execute("DELETE FROM trees WHERE path = ?", (path,))

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
