"""Settings (environment prefix ``MLPIPEX_``) and where the registry lives.

The only module that reads the environment; everything else is handed a ``Settings``.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from mlpipex.errors import Invalid, NotFound

DIRNAME = ".mlpipex"


class Settings(BaseSettings):
    """Everything a user can set; ``MLPIPEX_URI`` is the registry, ``MLPIPEX_USER`` the actor."""

    model_config = SettingsConfigDict(env_prefix="MLPIPEX_", extra="ignore")

    uri: str | None = None
    objects: str | None = None
    user: str | None = None
    token: str | None = None
    policy: str | None = None
    secret_key: str | None = None
    allow_private_webhooks: bool = False

    def actor(self) -> str:
        return self.user or getpass.getuser()


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
    """The folder holding ``.mlpipex`` for data commands: nearest one, else git top, else cwd."""
    cwd = cwd or Path.cwd()
    found = find_root(cwd)
    if found is not None:
        return found.parent
    for d in (cwd, *cwd.parents):
        if (d / ".git").exists():
            return d
    return cwd
