"""Moving bytes between the workspace and its cache: reflink, then hardlink, then copy.

Two effective modes: ``hardlink`` (one inode shared, made read-only) and ``copy`` (``copy_file``,
which reflinks where the filesystem can, so a ``reflink`` preference costs nothing extra).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Sequence

from mlpipex.data.workspace import Workspace
from mlpipex.errors import Invalid
from mlpipex.objects.copy import copy_file

_FICLONE = 0x40049409
_probed: dict[tuple[str, str], bool] = {}


def choose(ws: Workspace, types: Sequence[str]) -> str:
    """The first configured link type that works in this workspace: "hardlink" or "copy"."""
    for kind in types:
        if kind == "copy":
            return "copy"
        if _works(ws, kind):
            return "copy" if kind == "reflink" else "hardlink"
    raise Invalid(
        f"none of the link types {', '.join(types)} works in {ws.root}",
        hint="add copy to the list: mlpipex data config link reflink,hardlink,copy",
    )


def _works(ws: Workspace, kind: str) -> bool:
    key = (str(ws.cache_dir), kind)
    if key not in _probed:
        tmp = ws.cache_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        a, b = tmp / f"probe-{uuid.uuid4().hex}", tmp / f"probe-{uuid.uuid4().hex}"
        a.write_bytes(b"probe")
        try:
            if kind == "hardlink":
                os.link(a, b)
            else:
                with open(a, "rb") as fin, open(b, "xb") as fout:
                    fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
            _probed[key] = True
        except OSError:
            _probed[key] = False
        finally:
            for p in (a, b):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
    return _probed[key]


def adopt(ws: Workspace, src: str, digest: str, mode: str) -> None:
    """Put the workspace file src (whose digest is known) into the cache, if not already there."""
    final = ws.object_dest(digest)
    if mode == "hardlink":
        try:
            os.link(src, final)
        except FileExistsError:
            return
        except FileNotFoundError:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.link(src, final)
        except OSError:  # another filesystem inside the workspace: copy instead
            ws.cache.put_file(src, digest=digest)
            return
        os.chmod(final, 0o444)
        return
    if not os.path.exists(final):
        ws.cache.put_file(src, digest=digest)


def place(ws: Workspace, digest: str, dest: str, mode: str) -> None:
    """Make dest (replacing what is there) a link to, or copy of, the cached object."""
    src = ws.object_path(digest)
    parent = os.path.dirname(dest)
    os.makedirs(parent or ".", exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(dest)}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        if mode == "hardlink":
            try:
                os.link(src, tmp)
            except OSError:
                mode = "copy"
        if mode == "copy":
            copy_file(src, tmp)
            os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
