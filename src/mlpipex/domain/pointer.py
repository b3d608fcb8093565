"""Pointer files, pure: ``.mpx``, DVC ``.dvc`` files, outs of ``dvc.lock`` and ``mlpipex.lock``.

No I/O here: callers read the text and hand it in with the file's name, which picks the format.
Paths in a pointer are relative to the directory that holds the pointer file.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

import yaml

from mlpipex.domain.digest import Digest
from mlpipex.errors import Invalid

SUFFIX = ".mpx"
LOCKFILE = "mlpipex.lock"
DVC_SUFFIX = ".dvc"
DVC_LOCKFILE = "dvc.lock"

_HEADER = (
    "# MLPipeX data pointer: commit it to git; the data is in .mlpipex/cache (mlpipex data pull)\n"
)
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True, slots=True)
class PointerOut:
    """A tracked file or directory: its digest (a manifest's for a directory), size, file count."""

    path: str
    digest: Digest
    size: int | None = None
    nfiles: int | None = None
    isdir: bool = False

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"path": self.path, "digest": str(self.digest)}
        if self.size is not None:
            row["size"] = self.size
        if self.nfiles is not None:
            row["nfiles"] = self.nfiles
        if self.isdir:
            row["type"] = "dir"
        return row


def load_yaml(text: str, filename: str) -> Any:
    """Parse YAML text, naming the file in the error."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise Invalid(f"{filename} is not valid YAML: {exc}") from exc


def dump_yaml(data: Any) -> str:
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    return text


def out_from_dict(row: Any, filename: str) -> PointerOut:
    """An out as written in ``.mpx`` files and ``mlpipex.lock`` (``path``, ``digest``...)."""
    if not isinstance(row, dict) or not isinstance(row.get("path"), str) or "digest" not in row:
        raise Invalid(f"{filename}: each out needs a path and a digest, got {row!r}")
    digest = Digest.parse(str(row["digest"]))
    isdir = row.get("type") == "dir" or str(row["digest"]).endswith(".dir")
    return PointerOut(
        _clean(row["path"], filename), digest, _int(row.get("size")), _int(row.get("nfiles")), isdir
    )


def parse_pointer(text: str, filename: str) -> list[PointerOut]:
    """The outs of an ``.mpx`` pointer file."""
    return [out_from_dict(row, filename) for row in _outs(load_yaml(text, filename), filename)]


def dump_pointer(outs: list[PointerOut]) -> str:
    return _HEADER + dump_yaml({"outs": [o.to_dict() for o in outs]})


def parse_dvc_file(text: str, filename: str) -> list[PointerOut]:
    """The outs of a DVC ``.dvc`` file, with their md5 as DVC recorded it."""
    return [_dvc_out(row, filename) for row in _outs(load_yaml(text, filename), filename)]


def parse_dvc_lock(text: str, filename: str = DVC_LOCKFILE) -> dict[str, list[PointerOut]]:
    """The outs of each stage of a ``dvc.lock`` (schema 2.0), by stage name."""
    data = load_yaml(text, filename)
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        raise Invalid(f"{filename} has no stages", hint="only dvc.lock schema 2.0 is read")
    return {
        name: [_dvc_out(row, filename) for row in (stage or {}).get("outs") or []]
        for name, stage in stages.items()
    }


def parse_lock_outs(text: str, filename: str = LOCKFILE) -> dict[str, list[PointerOut]]:
    """The outs of each stage of an ``mlpipex.lock``, by stage name."""
    data = load_yaml(text, filename) or {}
    stages = data.get("stages") or {} if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        raise Invalid(f"{filename} has no stages")
    return {
        name: [out_from_dict(r, filename) for r in (stage or {}).get("outs") or []]
        for name, stage in stages.items()
    }


def read_reference(text: str, filename: str) -> list[PointerOut]:
    """Every out a dataset reference file names, whatever its format (chosen by the file name).

    ``x.mpx`` and ``x.dvc`` give their outs; ``mlpipex.lock`` and ``dvc.lock`` the outs of all
    stages. Digests are blake3 for MLPipeX files and md5 (as recorded) for DVC's.
    """
    base = posixpath.basename(filename.replace("\\", "/"))
    if base.endswith(SUFFIX):
        return parse_pointer(text, filename)
    if base.endswith(DVC_SUFFIX):
        return parse_dvc_file(text, filename)
    if base == DVC_LOCKFILE:
        return [o for outs in parse_dvc_lock(text, filename).values() for o in outs]
    if base == LOCKFILE:
        return [o for outs in parse_lock_outs(text, filename).values() for o in outs]
    raise Invalid(
        f"{filename} is not a pointer file",
        hint=f"use a {SUFFIX} or {DVC_SUFFIX} file, {LOCKFILE} or {DVC_LOCKFILE}",
    )


def is_reference_file(filename: str) -> bool:
    base = posixpath.basename(filename)
    return base.endswith((SUFFIX, DVC_SUFFIX)) or base in (LOCKFILE, DVC_LOCKFILE)


def _dvc_out(row: Any, filename: str) -> PointerOut:
    if not isinstance(row, dict) or not isinstance(row.get("path"), str):
        raise Invalid(f"{filename}: each out needs a path, got {row!r}")
    md5 = row.get("md5")
    if md5 is None:
        raise Invalid(
            f"{filename}: out {row['path']!r} has no md5 (not committed to the DVC cache?)"
        )
    digest = Digest.parse(f"md5:{md5}")
    return PointerOut(
        _clean(row["path"], filename),
        digest,
        _int(row.get("size")),
        _int(row.get("nfiles")),
        str(md5).endswith(".dir"),
    )


def _outs(data: Any, filename: str) -> list[Any]:
    outs = data.get("outs") if isinstance(data, dict) else None
    if not isinstance(outs, list) or not outs:
        raise Invalid(f"{filename} has no outs")
    return outs


def _clean(path: str, filename: str) -> str:
    norm = posixpath.normpath(path.replace("\\", "/"))
    if norm.startswith("../") or norm == ".." or norm.startswith("/") or norm == ".":
        raise Invalid(f"{filename}: out path {path!r} must be inside the pointer's folder")
    return norm


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
