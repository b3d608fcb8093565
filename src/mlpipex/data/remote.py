"""Remotes: named fsspec URLs (a local folder, s3://, gs://, az://, ssh://...) holding objects."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mlpipex.data import settings
from mlpipex.data.workspace import Workspace
from mlpipex.errors import AlreadyExists, Invalid, NotFound

if TYPE_CHECKING:
    from mlpipex.objects.store import ObjectStore


def add_remote(
    ws: Workspace, name: str, url: str, *, default: bool = False, replace: bool = False
) -> str:
    """Record a remote; the first one becomes the default. Returns the URL as stored."""
    if not name or "/" in name:
        raise Invalid(f"bad remote name {name!r}")
    conf = settings.load(ws.meta)
    if name in conf.remotes and not replace:
        raise AlreadyExists(
            f"remote {name!r} exists ({conf.remotes[name]})", hint="use --force to replace it"
        )
    if "://" not in url:  # a local folder: stored absolute, so any working directory works
        url = os.path.abspath(os.path.expanduser(url))
    conf.remotes[name] = url
    if default or conf.default_remote not in conf.remotes:
        conf.default_remote = name
    ws.ensure_meta()
    settings.save(ws.meta, conf)
    return url


def remove_remote(ws: Workspace, name: str) -> None:
    conf = settings.load(ws.meta)
    if name not in conf.remotes:
        raise NotFound(f"no remote {name!r}")
    del conf.remotes[name]
    if conf.default_remote == name:
        conf.default_remote = next(iter(conf.remotes), None)
    settings.save(ws.meta, conf)


def list_remotes(ws: Workspace) -> tuple[dict[str, str], str | None]:
    conf = settings.load(ws.meta)
    return conf.remotes, conf.default_remote


def open_remote(ws: Workspace, name: str | None = None) -> ObjectStore:
    from mlpipex.objects.open import open_store

    remotes, default = list_remotes(ws)
    name = name or default
    if name is None:
        raise NotFound(
            "no remote is configured", hint="add one with `mlpipex data remote add NAME URL`"
        )
    if name not in remotes:
        raise NotFound(f"no remote {name!r}", hint=f"known remotes: {', '.join(remotes) or 'none'}")
    return open_store(remotes[name])
