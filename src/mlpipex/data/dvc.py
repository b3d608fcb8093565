"""``mlpipex data import-dvc``: switch a DVC repository over, keeping its data and pipeline.

``x.dvc`` becomes ``x.mpx``, ``dvc.yaml`` becomes ``mlpipex.yaml`` and ``dvc.lock`` becomes
``mlpipex.lock``; every object they reference is read from the DVC cache (``.dvc/cache``, DVC 2
or 3 layout), the workspace or the DVC remote (``.dvc/config``), checked against its md5 and
stored in the cache under blake3. With ``data=False`` nothing is read: the pointers keep DVC's
md5, and ``mlpipex data pull`` resolves them later from the DVC remote recorded in
``.mlpipex/config.yaml`` (``resolve_pointers``).
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
from mlpipex.data.dvcremote import DvcRemote, DvcStore, read_config
from mlpipex.data.gitignore import ignore
from mlpipex.data.link import adopt, choose
from mlpipex.data.lock import LockEntry, write_lock
from mlpipex.data.parallel import parallel_map
from mlpipex.data.pipeline import PIPELINE
from mlpipex.data.progress import SILENT, Advance, Reporter
from mlpipex.data.statcache import StatCache
from mlpipex.data.workspace import Workspace, parent_dir
from mlpipex.domain.digest import Digest
from mlpipex.domain.manifest import FileEntry, Manifest
from mlpipex.domain.pointer import (
    DVC_LOCKFILE,
    DVC_SUFFIX,
    SUFFIX,
    PointerOut,
    dump_yaml,
    load_yaml,
    parse_dvc_file,
)
from mlpipex.errors import Corrupt, MLPipeXError, NotFound

_STAGE_KEYS = ("cmd", "deps", "params", "outs", "metrics", "plots")


@dataclass
class Imported:
    pointers: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    objects: int = 0
    fetched: int = 0  # of which from the DVC remote
    remote: str | None = None  # the DVC remote's URL, recorded for ``data pull``


class _Source:
    """Where DVC's objects come from: its cache, then the workspace, then its remote (opened on
    first need, so a repository whose cache is complete needs no remote)."""

    def __init__(self, ws: Workspace, remote: DvcRemote | None, result: Imported) -> None:
        self.ws = ws
        self.mode = choose(ws, settings.load(ws.meta).link)
        self.remote = remote
        self.result = result
        self._store: DvcStore | None = None
        self.tmp = str(ws.cache_dir / "tmp")

    def store(self, md5: str, fallback: str, advance: Advance | None = None) -> tuple[str, int]:
        """Put the content DVC names md5 in the cache; its blake3 and size."""
        src = dvc_cache_path(self.ws, md5)
        if src is None and os.path.exists(fallback):
            got, b3, size = _hashes(fallback)
            if got == md5:
                return self._adopt(fallback, b3, size)
            if self.remote is None:  # changed since DVC recorded it, and nowhere else to look
                raise Corrupt(f"{fallback} has md5 {got}, DVC recorded {md5}")
        elif src is not None:
            got, b3, size = _hashes(src)
            if got != md5:
                raise Corrupt(
                    f"{src} has md5 {got}, DVC recorded {md5}; nothing was converted from it"
                )
            return self._adopt(src, b3, size)
        fetched = self._remote().fetch(md5, self.tmp, advance)
        if fetched is None:
            raise NotFound(
                f"DVC object {md5} is in neither .dvc/cache, {fallback} nor {self._remote().url}",
                hint="push it from a DVC checkout that has it (`dvc push`)",
            )
        final = self.ws.object_dest(fetched.blake3)
        if os.path.exists(final):
            os.unlink(fetched.path)
        else:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.chmod(fetched.path, 0o444)
            os.replace(fetched.path, final)
        self.result.objects += 1
        self.result.fetched += 1
        return fetched.blake3, fetched.size

    def listing(self, md5: str) -> list[dict[str, Any]]:
        """A directory's DVC listing (relpath and md5 of each file), checked."""
        path = dvc_cache_path(self.ws, md5 + ".dir")
        if path is not None:
            with open(path, "rb") as f:
                data = f.read()
            if hashlib.md5(data).hexdigest() != md5:
                raise Corrupt(f"{path} does not match its md5; nothing was converted from it")
        else:
            data = self._remote().read(md5 + ".dir", self.tmp)
        rows = json.loads(data)
        if not isinstance(rows, list):
            raise Corrupt(f"DVC directory listing {md5}.dir is not a list")
        return rows

    def _adopt(self, src: str, b3: str, size: int) -> tuple[str, int]:
        adopt(self.ws, src, b3, self.mode)
        self.result.objects += 1
        return b3, size

    def _remote(self) -> DvcStore:
        if self._store is None:
            if self.remote is None:
                raise NotFound(
                    "an object is missing from .dvc/cache and the workspace, and DVC has no remote",
                    hint="run `dvc pull` first, or configure the DVC remote",
                )
            self._store = DvcStore(self.remote)
        return self._store


def import_dvc(
    ws: Workspace,
    *,
    keep: bool = False,
    data: bool = True,
    remote: str | None = None,
    reporter: Reporter = SILENT,
) -> Imported:
    result = Imported()
    config = read_config(ws.root)
    chosen = config.remote(remote) if remote or config.default else None
    source = _Source(ws, chosen, result)
    for dvcfile in ws.pointer_files(DVC_SUFFIX):
        base = parent_dir(dvcfile)
        outs = parse_dvc_file((ws.root / dvcfile).read_text(), dvcfile)
        converted = [_convert(source, base, o, reporter) if data else o for o in outs]
        pointer = dvcfile.removesuffix(DVC_SUFFIX) + SUFFIX
        ws.write_pointer(pointer, converted)
        for o in converted:
            ignore(ws, f"{base}/{o.path}" if base else o.path)
        if not keep:
            os.unlink(ws.dest(dvcfile))
        result.pointers.append(pointer)
    if (ws.root / "dvc.yaml").exists() and not (ws.root / PIPELINE).exists():
        _convert_pipeline(ws, source, data, reporter)
    if chosen is not None:
        conf = settings.load(ws.meta)
        conf.dvc_remote = result.remote = chosen.url
        ws.ensure_meta()
        settings.save(ws.meta, conf)
    return result


def resolve_pointers(
    ws: Workspace, targets: list[str] | None = None, reporter: Reporter = SILENT
) -> Imported:
    """Rewrite pointers that still name DVC md5s (``import-dvc --no-data``) with the objects
    fetched from the recorded DVC remote; returns the pointers rewritten and the count."""
    pending: dict[str, list[PointerOut]] = {}
    for t in ws.tracked(targets):
        if t.out.digest.algo == "md5":
            pending.setdefault(t.pointer, [])
    result = Imported(pointers=sorted(pending))
    if not pending:
        return result
    url = settings.load(ws.meta).dvc_remote
    known = {r.url: r for r in read_config(ws.root).remotes.values()}
    remote = known.get(url, DvcRemote("dvc", url)) if url else None
    source = _Source(ws, remote, result)
    for pointer in sorted(pending):
        base = parent_dir(pointer)
        outs = [t.out for t in ws.read_pointer(pointer)]
        ws.write_pointer(
            pointer,
            [_convert(source, base, o, reporter) if o.digest.algo == "md5" else o for o in outs],
        )
    return result


def dvc_cache_path(ws: Workspace, md5: str) -> str | None:
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


def _convert(source: _Source, base: str, out: PointerOut, reporter: Reporter) -> PointerOut:
    data = source.ws.root / base / out.path
    md5 = out.digest.hex
    if not out.isdir:
        with reporter.task(f"importing {out.path}", out.size) as advance:
            b3, size = source.store(md5, str(data), advance)
        return PointerOut(out.path, Digest("blake3", b3), size, 1, False)
    rows = source.listing(md5)
    with reporter.task(f"importing {out.path}", len(rows), unit="files") as advance:

        def one(row: dict[str, str]) -> FileEntry:
            b3, size = source.store(row["md5"], str(data / row["relpath"]))
            advance(1)
            return FileEntry(row["relpath"], b3, size)

        manifest = Manifest.of(parallel_map(one, rows, chunk=64))
    source.ws.cache.put_bytes(manifest.to_json())
    source.result.objects += 1
    return PointerOut(
        out.path, Digest("blake3", manifest.digest), manifest.size, len(manifest.files), True
    )


def _convert_pipeline(ws: Workspace, source: _Source, data: bool, reporter: Reporter) -> None:
    result = source.result
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
                entries[name] = _lock_entry(ws, st, cache, source, data, reporter)
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
    source: _Source,
    data: bool,
    reporter: Reporter,
) -> LockEntry:
    deps = tuple(build(ws, d["path"], cache, reporter).out(d["path"]) for d in st.get("deps") or [])
    outs = []
    for row in st.get("outs") or []:
        md5 = str(row["md5"])
        out = PointerOut(row["path"], Digest.parse(f"md5:{md5}"), isdir=md5.endswith(".dir"))
        outs.append(_convert(source, "", out, reporter) if data else out)
    cmd = st.get("cmd", "")
    return LockEntry(
        " && ".join(cmd) if isinstance(cmd, list) else str(cmd),
        deps,
        dict(st.get("params") or {}),
        tuple(outs),
    )
