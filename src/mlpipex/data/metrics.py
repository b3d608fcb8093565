"""Metrics and params across git revisions, as ``dvc metrics show/diff`` and ``dvc params diff``.

Each revision is read whole from git (its pipeline, metrics and params files; a metrics file
that git does not hold comes from the cache, through that revision's ``mlpipex.lock``); ``None``
stands for the working tree. A revision from before a DVC migration is read through its
``dvc.yaml``. Values are flattened to dotted keys (``loss.val``); a diff carries ``old``,
``new`` and, when both are numbers, ``diff`` (new - old), exactly as DVC's ``--json``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipex.data.git import run_git
from mlpipex.data.pipeline import PARAMS, PIPELINE, Stage, parse_pipeline
from mlpipex.data.workspace import Workspace
from mlpipex.domain.pointer import LOCKFILE, clip, load_yaml, parse_lock_outs
from mlpipex.errors import Invalid

WORKSPACE = "workspace"
Flat = dict[str, dict[str, Any]]  # file -> dotted key -> value (values as the files hold them)
_MAX_FILE = 16 << 20


@dataclass(frozen=True, slots=True)
class Change:
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        row = {"old": self.old, "new": self.new}
        if _number(self.old) and _number(self.new):
            row["diff"] = self.new - self.old
        return row


Diff = dict[str, dict[str, Change]]  # file -> key -> change


class Revision:
    """The files of one git revision (None: the working tree), read on demand."""

    def __init__(self, ws: Workspace, rev: str | None) -> None:
        self.ws = ws
        self.rev = rev
        self.label = rev or WORKSPACE
        self.commit = _resolve(ws.root, rev) if rev is not None else None

    def read(self, path: str) -> str | None:
        if self.commit is None:
            try:
                with open(self.ws.root / path, "rb") as f:
                    return f.read(_MAX_FILE + 1).decode("utf-8", errors="replace")
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return None
        out = run_git(self.ws.root, "show", f"{self.commit}:{path}")
        return out.decode("utf-8", errors="replace") if out is not None else None

    def stages(self) -> list[Stage]:
        for name in (PIPELINE, "dvc.yaml"):
            text = self.read(name)
            if text is not None:
                pipeline = parse_pipeline(load_yaml(text, name), name, strict=False)
                return list(pipeline.stages.values())
        return []

    def data(self, path: str) -> str | None:
        """A pipeline output's text: from git, else from the cache as the lock records it."""
        text = self.read(path)
        if text is not None:
            return text
        lock = self.read(LOCKFILE)
        outs = parse_lock_outs(lock) if lock else {}
        for out in (o for stage in outs.values() for o in stage):
            if out.path == path and not out.isdir:
                try:
                    with open(self.ws.object_path(out.digest.hex), "rb") as f:
                        return f.read(_MAX_FILE + 1).decode("utf-8", errors="replace")
                except FileNotFoundError:
                    return None
        return None


def _resolve(root: Path, rev: str) -> str:
    if rev.startswith("-"):
        raise Invalid(f"{clip(rev)} is not a git revision")
    out = run_git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if out is None:
        raise Invalid(f"{clip(rev)} is not a git revision here", hint="see `git log --oneline`")
    return out.decode().strip()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level of dotted keys; lists and scalars are leaves."""
    if not isinstance(value, dict):
        return {prefix: value} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in value.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _parse(text: str | None, path: str) -> dict[str, Any] | None:
    if text is None:
        return None
    data = load_yaml(text, path)  # JSON is YAML
    return flatten(data) if isinstance(data, dict) else None


def metrics(revision: Revision) -> Flat:
    """Every metrics file of the revision's pipeline, flattened."""
    files = sorted({m for st in revision.stages() for m in st.metrics})
    return _read_all(files, revision.data)


def params(revision: Revision) -> Flat:
    """Every params file the revision's stages read, whole and flattened (as DVC shows them)."""
    files = sorted({file for st in revision.stages() for file, _ in st.params})
    if not files and revision.read(PARAMS) is not None:
        files = [PARAMS]
    return _read_all(files, revision.read)


def _read_all(files: list[str], read: Callable[[str], str | None]) -> Flat:
    out: Flat = {}
    for path in files:
        values = _parse(read(path), path)
        if values is not None:
            out[path] = values
    return out


def diff(old: Flat, new: Flat, *, all_keys: bool = False) -> Diff:
    """What changed between two readings (everything with all_keys), by file then key."""
    out: Diff = {}
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path, {}), new.get(path, {})
        rows = {
            key: Change(a.get(key), b.get(key))
            for key in sorted(set(a) | set(b))
            if all_keys or not _same(a.get(key), b.get(key))
        }
        if rows:
            out[path] = rows
    return out


def diff_json(d: Diff) -> dict[str, dict[str, dict[str, Any]]]:
    return {path: {k: c.to_dict() for k, c in rows.items()} for path, rows in d.items()}


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b if not (_number(a) and _number(b)) else a == b


def fmt(v: Any) -> str:
    """A value as DVC's tables print it: '-' for none, floats to 5 significant digits."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.5g}"
    return str(v)
