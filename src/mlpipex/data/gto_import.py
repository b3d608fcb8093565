"""What ``models import-gto`` imports, read from a GTO repository: the model artifacts, their
versions with the bytes, datasets and metrics ``dvc.lock`` and the stage's metrics files record at
each version's commit, and the stage moves in the order GTO applied them."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlpipex.data.dvc import dvc_cache_path
from mlpipex.data.dvcremote import DvcStore, read_config
from mlpipex.data.git import run_git
from mlpipex.data.gto import (
    Action,
    Annotation,
    TagEvent,
    read_annotations,
    read_tags,
    semver_order,
)
from mlpipex.data.metrics import Revision, flatten
from mlpipex.data.workspace import Workspace
from mlpipex.domain.manifest import safe_relpath
from mlpipex.domain.models import DatasetRef
from mlpipex.domain.pointer import load_yaml, parse_dvc_lock
from mlpipex.errors import MLPipeXError
from mlpipex.service.registry.gto_import import GtoModel, GtoMove, GtoVersion, Move

_MOVES = {
    Action.ASSIGN: Move.ASSIGN,
    Action.UNASSIGN: Move.UNASSIGN,
    Action.DEREGISTER: Move.DEREGISTER,
    Action.DEPRECATE: Move.DEPRECATE,
    Action.CREATE: Move.CREATE,
}


@dataclass(frozen=True, slots=True)
class _Out:
    """A stage output as dvc.lock records it, with the stage's deps."""

    stage: str
    md5: str
    deps: tuple[DatasetRef, ...]


def read_models(
    root: Path,
    dest: Path,
    *,
    data: bool = True,
    remote: str | None = None,
    held: Callable[[str], frozenset[str]] = lambda name: frozenset(),
) -> list[GtoModel]:
    """Every artifact of type model with its versions and moves; bytes fetched under dest
    (from the DVC cache, else the remote) unless ``data`` is off, they cannot be found, or
    ``held(model)`` names the version (the registry has its files already)."""
    annotations = read_annotations(
        {f: _read(root, "HEAD", f) for f in ("dvc.yaml", "artifacts.yaml")}
    )
    models = {n: a for n, a in annotations.items() if a.type == "model"}
    tags = [e for e in read_tags(root) if e.artifact in models]
    store = _Fetcher(root, remote, data)
    out = []
    for name, ann in models.items():
        mine = [e for e in tags if e.artifact == name]
        store.skip = held(name)
        out.append(_model(root, dest / name, ann, mine, store))
    return out


def _model(
    root: Path, dest: Path, ann: Annotation, tags: list[TagEvent], store: _Fetcher
) -> GtoModel:
    firsts: dict[str, TagEvent] = {}
    moves = []
    registered: dict[str, str] = {}  # commit -> the version registered there, as GTO resolves
    for e in sorted(tags, key=lambda e: e.time):
        if e.action == Action.REGISTER and e.version:
            registered.setdefault(e.commit, e.version)
            firsts.setdefault(e.version, e)
            continue
        version = e.version or (registered.get(e.commit) if e.stage else None)
        if e.stage and version is None:
            version = e.commit
            firsts.setdefault(version, e)
        moves.append(GtoMove(e.tag, _MOVES[e.action], e.tagger, e.time * 1000, version, e.stage))
    versions = [
        _version(root, dest, ann, firsts[v], v, store) for v in sorted(firsts, key=semver_order)
    ]
    stages = tuple(dict.fromkeys(m.stage for m in moves if m.stage))
    # GTO names may hold / (and : from a nested dvc.yaml); a model name may not
    name = ann.name.replace("/", ".").replace(":", ".")
    return GtoModel(name, ann.description, ann.labels, tuple(versions), tuple(moves), stages)


def _version(
    root: Path,
    dest: Path,
    ann: Annotation,
    e: TagEvent,
    version: str,
    store: _Fetcher,
) -> GtoVersion:
    out = _lock_out(_read(root, e.commit, "dvc.lock"), ann.path)
    metrics = _metrics(root, e.commit, out.stage if out else None)
    base = GtoVersion(version, e.commit, e.tag, e.tagger, e.time * 1000, metrics=metrics)
    if out is None:
        return replace(base, external=f"{ann.path} (not in dvc.lock at {e.commit[:12]})")
    where = f"{store.url or 'DVC'}#md5:{out.md5}"
    path = None
    if version not in store.skip:
        name = Path(ann.path).name  # dvc.yaml is untrusted: never "..", never a folder path
        path = store.materialize(
            out.md5, dest / version / (name if name not in ("", "..") else "model")
        )
    return GtoVersion(
        version,
        e.commit,
        e.tag,
        e.tagger,
        e.time * 1000,
        path=path,
        external="" if path else where,
        datasets=out.deps,
        metrics=metrics,
    )


def _read(root: Path, rev: str, path: str) -> str | None:
    out = run_git(root, "show", f"{rev}:{path}")
    return out.decode("utf-8", errors="replace") if out is not None else None


def _lock_out(text: str | None, path: str) -> _Out | None:
    """The output at path in DVC's dvc.lock, with its stage's deps as dataset references (None
    when the lock is absent, unreadable or lacks it: the version is then only referenced)."""
    if not text or not path:
        return None
    try:
        stages = parse_dvc_lock(text)
    except MLPipeXError:
        return None
    want = path.rstrip("/")
    for stage, outs in stages.items():
        for o in outs:
            if o.path.rstrip("/") == want and o.digest.algo == "md5":
                md5 = o.digest.hex + (".dir" if o.isdir else "")
                return _Out(stage, md5, _deps(load_yaml(text, "dvc.lock")["stages"][stage]))
    return None


def _deps(stage: Any) -> tuple[DatasetRef, ...]:
    rows = stage.get("deps") if isinstance(stage, dict) else None
    return tuple(
        DatasetRef(
            str(d["path"]),
            str(d["path"]),
            f"md5:{d['md5'].removesuffix('.dir')}",
            d["size"] if isinstance(d.get("size"), int) else None,
        )
        for d in rows or []
        if isinstance(d, dict) and d.get("path") and isinstance(d.get("md5"), str)
    )


def _metrics(root: Path, commit: str, stage: str | None) -> tuple[tuple[str, float], ...]:
    """The numbers in the stage's metrics files at commit (every stage's when it is unknown)."""
    try:
        rev = Revision(Workspace(root), commit)
        files = sorted({f for st in rev.stages() if stage in (None, st.name) for f in st.metrics})
    except MLPipeXError:
        return ()
    found: dict[str, float] = {}
    for f in files:
        text = rev.read(f)
        try:
            data = load_yaml(text, f) if text else None
        except MLPipeXError:
            continue
        for k, v in flatten(data).items() if isinstance(data, dict) else ():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                found.setdefault(k, float(v))
    return tuple(sorted(found.items()))


class _Fetcher:
    """DVC objects by md5: the repository's DVC cache first, then its remote (checked)."""

    def __init__(self, root: Path, remote: str | None, data: bool) -> None:
        self.ws = Workspace(root)
        self._remote = remote
        self.data = data
        self.skip: frozenset[str] = frozenset()
        self._store: DvcStore | None = None
        self.url = ""
        try:
            self.url = read_config(root).remote(remote).url
        except MLPipeXError:
            self.url = ""

    def materialize(self, md5: str, target: Path) -> Path | None:
        """The object (a file, or a directory's files) written at target; None when absent
        (or when data is not wanted)."""
        if not self.data:
            return None
        try:
            if md5.endswith(".dir"):
                listing = json.loads(self._bytes(md5, target.parent))
                for row in listing:
                    rel = safe_relpath(str(row["relpath"]))
                    self._file(str(row["md5"]), target / rel)
            else:
                self._file(md5, target)
        except (MLPipeXError, OSError, ValueError, KeyError, TypeError):
            return None  # recorded as external; dest is a temporary folder
        return target

    def _bytes(self, md5: str, tmp: Path) -> bytes:
        local = dvc_cache_path(self.ws, md5)
        if local is not None:
            data = Path(local).read_bytes()
            if hashlib.md5(data).hexdigest() == md5.removesuffix(".dir"):
                return data
        return self._dvc().read(md5, str(tmp))

    def _file(self, md5: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        local = dvc_cache_path(self.ws, md5)
        if local is not None:
            shutil.copyfile(local, target)
            if _md5(target) == md5:
                return
        got = self._dvc().fetch(md5, str(target.parent))
        if got is None:
            raise FileNotFoundError(md5)
        os.replace(got.path, target)

    def _dvc(self) -> DvcStore:
        if self._store is None:
            if not self.url:
                raise FileNotFoundError("no DVC remote")
            self._store = DvcStore(read_config(self.ws.root).remote(self._remote))
        return self._store


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
