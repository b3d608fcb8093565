"""Where the registry and the data workspace live: --uri / MLPIPEX_URI, else the nearest
``.mlpipex`` folder upward. Kept free of heavy imports: every CLI command starts here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlpipex.errors import Invalid, NotFound

DIRNAME = ".mlpipex"


@dataclass(frozen=True, slots=True)
class Location:
    """A resolved registry: database URL, objects URL (None: read from the database), root."""

    kind: str  # "local" (SQLite + local objects), "database", or "http"
    url: str
    objects: str | None
    root: Path | None

    @property
    def exists(self) -> bool:
        if self.kind != "local":
            return True
        assert self.root is not None
        return (self.root / "registry.db").exists()


def find_root(start: Path) -> Path | None:
    """The nearest ``.mlpipex`` folder at or above start."""
    for d in (start, *start.parents):
        if (d / DIRNAME).is_dir():
            return d / DIRNAME
    return None


def resolve(uri: str | None, objects: str | None = None, cwd: Path | None = None) -> Location:
    """Where the registry is, by the rules of DESIGN.md: --uri, MLPIPEX_URI, nearest .mlpipex."""
    cwd = cwd or Path.cwd()
    if uri is None:
        root = find_root(cwd) or cwd / DIRNAME
        return _local(root, objects)
    if uri.startswith(("http://", "https://")):
        return Location("http", uri.rstrip("/"), objects, None)
    if uri.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        url = "postgresql+psycopg://" + uri.split("://", 1)[1]
        return Location("database", url, objects, None)
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///"))
        return Location(
            "database", f"sqlite:///{db}", objects or str(db.parent / "objects"), db.parent
        )
    if "://" in uri and not uri.startswith("file://"):
        raise Invalid(
            f"unsupported registry URI {uri!r}",
            hint="use a folder, file://, sqlite:///, postgresql:// or http(s)://",
        )
    path = Path(uri.removeprefix("file://")).expanduser()
    if not path.is_absolute():
        path = cwd / path
    return _local(
        path if path.name == DIRNAME or not (path / DIRNAME).is_dir() else path / DIRNAME, objects
    )


def _local(root: Path, objects: str | None) -> Location:
    return Location(
        "local", f"sqlite:///{root / 'registry.db'}", objects or str(root / "objects"), root
    )


def require_existing(loc: Location) -> Location:
    if not loc.exists:
        raise NotFound(
            f"no MLPipeX registry at {loc.root}",
            hint="`mlpipex models create NAME` or a registration creates one; or set MLPIPEX_URI",
        )
    return loc


def workspace_root(cwd: Path | None = None) -> Path:
    """The folder holding ``.mlpipex`` for data commands: the nearest one inside this git
    repository, else the repository's top, else cwd (never a folder above the repository)."""
    cwd = cwd or Path.cwd()
    for d in (cwd, *cwd.parents):
        if (d / DIRNAME).is_dir() or (d / ".git").exists():
            return d
    found = find_root(cwd)
    return found.parent if found is not None else cwd
