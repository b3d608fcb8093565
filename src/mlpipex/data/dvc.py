"""``mlpipex data import-dvc``: switch a DVC repository over, keeping its data and pipeline.

``x.dvc`` becomes ``x.mpx``, ``dvc.yaml`` becomes ``mlpipex.yaml`` and ``dvc.lock`` becomes
``mlpipex.lock``; every object they reference is read from the DVC cache (``.dvc/cache``, DVC 2
or 3 layout) or the workspace, checked against its md5 and stored in the cache under blake3.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import blake3

from mlpipex.data import settings
from mlpipex.data.build import build
from mlpipex.data.gitignore import ignore
from mlpipex.data.link import adopt, choose
from mlpipex.data.lock import LockEntry, write_lock
from mlpipex.data.parallel import parallel_map
from mlpipex.data.pipeline import PIPELINE
from mlpipex.data.progress import SILENT, Reporter
from mlpipex.data.statcache import StatCache
from mlpipex.data.workspace import Workspace, parent_dir
from mlpipex.domain.digest import Digest
from mlpipex.domain.manifest import FileEntry, Manifest
from mlpipex.domain.pointer import (
    DVC_LOCKFILE,
    DVC_SUFFIX,
    PointerOut,
    dump_yaml,
    load_yaml,
    parse_dvc_file,
)
from mlpipex.errors import Corrupt, MLPipeXError, NotFound

_STAGE_KEYS = ("cmd", "deps", "params", "outs", "metrics")


@dataclass
class Imported:
    pointers: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    objects: int = 0


def import_dvc(ws: Workspace, *, keep: bool = False, reporter: Reporter = SILENT) -> Imported:
    mode = choose(ws, settings.load(ws.meta).link)
    result = Imported()
    for dvcfile in ws.pointer_files(DVC_SUFFIX):
        base = parent_dir(dvcfile)
        outs = parse_dvc_file((ws.root / dvcfile).read_text(), dvcfile)
        converted = [_convert(ws, base, o, mode, result, reporter) for o in outs]
        pointer = dvcfile.removesuffix(DVC_SUFFIX) + ".mpx"
        ws.write_pointer(pointer, converted)
        for o in converted:
            ignore(ws, f"{base}/{o.path}" if base else o.path)
        if not keep:
            os.unlink(ws.dest(dvcfile))
        result.pointers.append(pointer)
    if (ws.root / "dvc.yaml").exists() and not (ws.root / PIPELINE).exists():
        _convert_pipeline(ws, mode, result, reporter)
    return result


def _dvc_cache_path(ws: Workspace, md5: str) -> str | None:
    for layout in (ws.root / ".dvc/cache/files/md5", ws.root / ".dvc/cache"):
        path = layout / md5[:2] / md5[2:]
        if path.exists():
            return str(path)
    return None


def _hashes(path: str) -> tuple[str, str, int]:
    """md5, blake3 and size of a file, in one read."""
    md5, b3, size = hashlib.md5(), blake3.blake3(), 0
    with open(path, "rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            md5.update(chunk)
            b3.update(chunk)
            size += len(chunk)
    return md5.hexdigest(), b3.hexdigest(), size


def _store(ws: Workspace, md5: str, fallback: str, mode: str, result: Imported) -> tuple[str, int]:
    """Store the content DVC names md5 (from its cache, else the workspace); its blake3 and size."""
    src = _dvc_cache_path(ws, md5) or fallback
    if not os.path.exists(src):
        raise NotFound(
            f"DVC object {md5} is neither in .dvc/cache nor at {fallback}",
            hint="run `dvc pull` first",
        )
    got, b3, size = _hashes(src)
    if got != md5:
        raise Corrupt(f"{src} has md5 {got}, DVC recorded {md5}; nothing was converted from it")
    adopt(ws, src, b3, mode)
    result.objects += 1
    return b3, size


def _convert(
    ws: Workspace, base: str, out: PointerOut, mode: str, result: Imported, reporter: Reporter
) -> PointerOut:
    data = ws.root / base / out.path
    md5 = out.digest.hex
    if not out.isdir:
        b3, size = _store(ws, md5, str(data), mode, result)
        return PointerOut(out.path, Digest("blake3", b3), size, 1, False)
    listing = _dvc_cache_path(ws, md5 + ".dir")
    if listing is None:
        raise NotFound(
            f"DVC directory listing {md5}.dir is not in .dvc/cache", hint="run `dvc pull`"
        )
    with open(listing, "rb") as f:
        rows = json.load(f)
    with reporter.task(f"importing {out.path}", len(rows), unit="files") as advance:

        def one(row: dict[str, str]) -> FileEntry:
            b3, size = _store(ws, row["md5"], str(data / row["relpath"]), mode, result)
            advance(1)
            return FileEntry(row["relpath"], b3, size)

        manifest = Manifest.of(parallel_map(one, rows, chunk=64))
    ws.cache.put_bytes(manifest.to_json())
    result.objects += 1
    return PointerOut(
        out.path, Digest("blake3", manifest.digest), manifest.size, len(manifest.files), True
    )


def _convert_pipeline(ws: Workspace, mode: str, result: Imported, reporter: Reporter) -> None:
    raw = load_yaml((ws.root / "dvc.yaml").read_text(), "dvc.yaml") or {}
    stages = {
        name: {k: st[k] for k in _STAGE_KEYS if k in st}
        for name, st in (raw.get("stages") or {}).items()
    }
    ws.dest(PIPELINE).write_text(dump_yaml({"stages": stages}))
    result.files.append(PIPELINE)
    lock_path = ws.root / DVC_LOCKFILE
    if not lock_path.exists():
        return
    lock = load_yaml(lock_path.read_text(), DVC_LOCKFILE) or {}
    entries: dict[str, LockEntry] = {}
    cache = StatCache(ws.meta)
    try:
        for name, st in (lock.get("stages") or {}).items():
            try:
                entries[name] = _lock_entry(ws, st, cache, mode, result, reporter)
            except MLPipeXError:  # a dep or out is gone: the stage will simply run again
                continue
    finally:
        cache.close()
    write_lock(ws.root, entries, list(stages))
    result.files.append("mlpipex.lock")


def _lock_entry(
    ws: Workspace,
    st: dict[str, Any],
    cache: StatCache,
    mode: str,
    result: Imported,
    reporter: Reporter,
) -> LockEntry:
    deps = tuple(build(ws, d["path"], cache, reporter).out(d["path"]) for d in st.get("deps") or [])
    outs = []
    for row in st.get("outs") or []:
        md5 = str(row["md5"])
        out = PointerOut(row["path"], Digest.parse(f"md5:{md5}"), isdir=md5.endswith(".dir"))
        outs.append(_convert(ws, "", out, mode, result, reporter))
    cmd = st.get("cmd", "")
    return LockEntry(
        " && ".join(cmd) if isinstance(cmd, list) else str(cmd),
        deps,
        dict(st.get("params") or {}),
        tuple(outs),
    )
