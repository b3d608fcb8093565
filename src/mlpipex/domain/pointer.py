"""Pointer files, pure: ``.mpx``, DVC ``.dvc`` files, outs of ``dvc.lock`` and ``mlpipex.lock``.

No I/O here: callers read the text and hand it in with the file's name, which picks the format.
Paths in a pointer are relative to the directory that holds the pointer file.
"""

from __future__ import annotations

import posixpath
import reprlib
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
MAX_YAML_BYTES = 16 << 20
# Aliases let a few kilobytes stand for gigabytes (a "billion laughs" document): the document
# as it would be expanded is counted, node by node, and refused past this.
MAX_YAML_NODES = 1_000_000
_clip = reprlib.Repr()
_clip.maxstring = _clip.maxother = 80
_clip.maxlist = _clip.maxdict = _clip.maxtuple = 4
_clip.maxlevel = 3


def clip(value: Any) -> str:
    """A short repr of value: errors never echo a whole (possibly enormous) value."""
    return _clip.repr(value)


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
    """Parse YAML text, naming the file in the error; refuses oversized and alias-bomb texts."""
    if len(text) > MAX_YAML_BYTES:
        raise Invalid(f"{filename} is larger than {MAX_YAML_BYTES} bytes")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "&" in text:  # no anchor, no alias: the text's size bounds the document's
            _expanded_size(node, filename)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise Invalid(f"{filename} is not valid YAML: {str(exc)[:500]}") from exc
    except RecursionError:
        raise Invalid(f"{filename} nests too deeply") from None
    finally:
        loader.dispose()


def _expanded_size(root: yaml.Node, filename: str) -> int:
    """How many nodes the document has once every alias is expanded (memoized per node)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if done:
            open_.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_YAML_NODES:
                raise Invalid(
                    f"{filename} expands (through its aliases) to more than "
                    f"{MAX_YAML_NODES} values",
                    hint="write the values out instead of repeating anchors",
                )
            continue
        if key in open_:
            raise Invalid(f"{filename} has an alias that contains itself")
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def dump_yaml(data: Any) -> str:
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    return text


def out_from_dict(row: Any, filename: str) -> PointerOut:
    """An out as written in ``.mpx`` files and ``mlpipex.lock`` (``path``, ``digest``...)."""
    if (
        not isinstance(row, dict)
        or not isinstance(row.get("path"), str)
        or not isinstance(row.get("digest"), str)
    ):
        raise Invalid(f"{filename}: each out needs a path and a digest, got {clip(row)}")
    digest = Digest.parse(row["digest"])
    isdir = row.get("type") == "dir" or row["digest"].endswith(".dir")
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
        raise Invalid(f"{filename}: each out needs a path, got {clip(row)}")
    md5 = row.get("md5")
    if not isinstance(md5, str):
        raise Invalid(
            f"{filename}: out {clip(row['path'])} has no md5 (not committed to the DVC cache?)"
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
        raise Invalid(f"{filename}: out path {clip(path)} must be inside the pointer's folder")
    return norm


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise Invalid(f"a size or count must be a whole number, got {clip(value)}")
    try:
        number = int(value)
    except ValueError:
        raise Invalid(f"a size or count must be a whole number, got {clip(value)}") from None
    if not 0 <= number < 1 << 63:
        raise Invalid(f"a size or count must be between 0 and 2^63, got {clip(value)}")
    return number
