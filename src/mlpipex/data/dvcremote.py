"""DVC remotes: read from ``.dvc/config`` and ``.dvc/config.local``, opened through fsspec.

Objects are named by md5, in DVC 3's layout (``files/md5/xx/yyyy``) or DVC 2's (``xx/yyyy``);
both are tried, the one that answered first first. Every object is checked against its md5 while
it is copied, and its blake3 computed in the same pass.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3

from mlpipex.data.progress import Advance
from mlpipex.errors import Corrupt, Invalid, NotFound

_SECTION = re.compile(r"""^'?remote\s+"(?P<name>[^"]+)"'?$""")
_CHUNK = 8 * 1024 * 1024
_LAYOUTS = ("files/md5/{}/{}", "{}/{}")


def _pick(o: dict[str, str], names: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {theirs: o[ours] for ours, theirs in names if ours in o}


def _s3(o: dict[str, str]) -> dict[str, Any]:
    client = _pick(o, (("endpointurl", "endpoint_url"), ("region", "region_name")))
    keys = (("access_key_id", "key"), ("secret_access_key", "secret"), ("profile", "profile"))
    out = _pick(o, keys)
    return {**out, "client_kwargs": client} if client else out


def _ssh(o: dict[str, str]) -> dict[str, Any]:
    out = _pick(o, (("user", "username"), ("password", "password")))
    return {**out, "port": int(o["port"])} if "port" in o else out


def _none(o: dict[str, str]) -> dict[str, Any]:
    return {}


# DVC's remote options, as fsspec storage options, per URL scheme (the rest need none here, or
# come from the environment as both tools read it).
_OPTIONS: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {"s3": _s3, "ssh": _ssh}


@dataclass(frozen=True, slots=True)
class DvcRemote:
    name: str
    url: str
    options: tuple[tuple[str, str], ...] = ()

    def storage_options(self) -> dict[str, Any]:
        scheme = self.url.partition("://")[0] if "://" in self.url else ""
        return _OPTIONS.get(scheme, _none)(dict(self.options))


@dataclass(frozen=True, slots=True)
class DvcConfig:
    remotes: dict[str, DvcRemote]
    default: str | None

    def remote(self, name: str | None = None) -> DvcRemote:
        name = name or self.default
        if name is None or name not in self.remotes:
            raise NotFound(
                f"no DVC remote {name!r} in .dvc/config" if name else "DVC has no default remote",
                hint="set one with `dvc remote add -d NAME URL`, or pass --no-data",
            )
        return self.remotes[name]


def read_config(root: Path) -> DvcConfig:
    """The remotes of the DVC repository at root (``config.local`` overriding ``config``)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    files = [root / ".dvc" / "config", root / ".dvc" / "config.local"]
    try:
        parser.read([f for f in files if f.exists()])
    except configparser.Error as exc:
        raise Invalid(f".dvc/config cannot be read: {str(exc)[:200]}") from None
    remotes = {}
    for section in parser.sections():
        m = _SECTION.match(section.strip())
        if m is None or "url" not in parser[section]:
            continue
        opts = dict(parser[section])
        url = opts.pop("url")
        if "://" not in url and not os.path.isabs(url):  # DVC: relative to the config's folder
            url = os.path.normpath(root / ".dvc" / url)
        remotes[m["name"]] = DvcRemote(m["name"], url, tuple(sorted(opts.items())))
    default = None
    for core in ("core", "'core'"):
        if parser.has_section(core):
            default = parser[core].get("remote", default)
    return DvcConfig(remotes, default)


@dataclass(frozen=True, slots=True)
class Fetched:
    """An object copied from a remote, checked against its md5."""

    path: str
    blake3: str
    size: int


class DvcStore:
    """A DVC remote, read by md5."""

    def __init__(self, remote: DvcRemote) -> None:
        import fsspec

        self.url = remote.url
        self.fs, root = fsspec.core.url_to_fs(remote.url, **remote.storage_options())
        self.root = root.rstrip("/")
        self._layouts = list(_LAYOUTS)

    def fetch(self, md5: str, folder: str, advance: Advance | None = None) -> Fetched | None:
        """Copy the object md5 into a new file in folder; None when the remote lacks it."""
        name = md5.lower()
        if not re.fullmatch(r"[0-9a-f]{32}(\.dir)?", name):
            raise Invalid(f"{name[:80]!r} is not a DVC md5")
        os.makedirs(folder, exist_ok=True)
        for layout in list(self._layouts):
            path = f"{self.root}/{layout.format(name[:2], name[2:])}"
            dest = os.path.join(folder, f"dvc-{uuid.uuid4().hex}.part")
            try:
                got = _copy(self.fs, path, dest, advance)
            except FileNotFoundError:
                continue
            if layout != self._layouts[0]:  # this remote uses the other layout: ask it first
                self._layouts.remove(layout)
                self._layouts.insert(0, layout)
            if got[0] != name.removesuffix(".dir"):
                os.unlink(dest)
                raise Corrupt(f"{path} on the DVC remote has md5 {got[0]}, expected {name}")
            return Fetched(dest, got[1], got[2])
        return None

    def read(self, md5: str, folder: str) -> bytes:
        """A small object's bytes (a ``.dir`` listing), checked; NotFound when absent."""
        got = self.fetch(md5, folder)
        if got is None:
            raise NotFound(f"DVC object {md5} is not on the remote {self.url}")
        try:
            return Path(got.path).read_bytes()
        finally:
            os.unlink(got.path)


def _copy(fs: Any, path: str, dest: str, advance: Advance | None) -> tuple[str, str, int]:
    """Copy path to dest, returning its md5, blake3 and size; dest is removed on failure."""
    md5, b3, size = hashlib.md5(), blake3.blake3(), 0
    try:
        with fs.open(path, "rb") as src, open(dest, "xb") as out:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
                md5.update(chunk)
                b3.update(chunk)
                size += len(chunk)
                if advance is not None:
                    advance(len(chunk))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dest)
        raise
    return md5.hexdigest(), b3.hexdigest(), size
