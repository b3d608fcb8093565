"""Where the registry and the data workspace live: --uri / MLPIPEX_URI, else the nearest
``.mlpipex`` folder upward. Kept free of heavy imports: every CLI command starts here."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlpipex.errors import Invalid, NotFound

DIRNAME = ".mlpipex"
ENV_PREFIX = "MLPIPEX_"
# the registry's setting that records its object store's URL, for every client to find
OBJECTS_SETTING = "objects_uri"


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


@dataclass(frozen=True, slots=True)
class PlainSettings:
    """The settings a read-only command needs (registry, objects, actor), read from the
    environment without pydantic, for the CLI's fast path; the rest keep their defaults."""

    uri: str | None = None
    objects: str | None = None
    user: str | None = None
    token: None = None
    policy: None = None
    secret_key: None = None
    allow_private_webhooks: bool = False
    workspace: str | None = None

    def actor(self) -> str:
        return self.user or getpass.getuser()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> PlainSettings | None:
        """The MLPIPEX_ variables of these fields, named in any case as ``config.Settings``
        reads them (others are ignored, as there); None when one only ``Settings`` parses is
        set (a token, a policy, ...), or one is set twice."""
        fields = {f: ENV_PREFIX + f.upper() for f in cls.__dataclass_fields__}
        given: dict[str, str] = {}
        for name, value in environ.items():
            field = name[len(ENV_PREFIX) :].lower()
            if name.upper() == fields.get(field):
                if field in given or field not in _PLAIN:
                    return None
                given[field] = value
        return cls(**given)  # type: ignore[arg-type]


_PLAIN = ("uri", "objects", "user", "workspace")


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
