"""``repro --set-param``: change values in the params files before running (DVC's ``exp run -S``).

``train.lr=0.2`` sets a key of ``params.yaml``; ``other.yaml:depth=4`` one of another file. Values
are read as YAML (``0.2`` a number, ``true`` a boolean, ``[1, 2]`` a list). The files are
rewritten whole and atomically, each through ``Workspace.dest`` like every data write.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from mlpipex.data.pipeline import PARAMS
from mlpipex.data.workspace import Workspace, short
from mlpipex.domain.pointer import dump_yaml, load_yaml
from mlpipex.errors import Invalid

MAX_SETS = 100


@dataclass(frozen=True, slots=True)
class ParamSet:
    file: str
    key: str  # dotted
    value: Any

    @classmethod
    def parse(cls, text: str) -> ParamSet:
        target, sep, raw = text.partition("=")
        file, colon, key = target.rpartition(":") if ":" in target else ("", "", target)
        parts = key.split(".")
        if not sep or not key or any(not p.strip() for p in parts) or (colon and not file):
            raise Invalid(
                f"{short(text)!r} is not KEY=VALUE",
                hint="write it as train.lr=0.2, or params.yaml:train.lr=0.2",
            )
        return cls(file or PARAMS, key, load_yaml(raw, f"value of {key}") if raw else "")


def apply(ws: Workspace, sets: list[ParamSet]) -> None:
    """Write every set value into its file (keys missing on the way are created)."""
    if len(sets) > MAX_SETS:
        raise Invalid(f"at most {MAX_SETS} --set-param values")
    by_file: dict[str, list[ParamSet]] = {}
    for s in sets:
        by_file.setdefault(s.file, []).append(s)
    updated: dict[str, Any] = {}
    for file, items in by_file.items():
        path = ws.dest(ws.rel(ws.root / file))
        try:
            data = load_yaml(path.read_text(), file) or {}
        except FileNotFoundError:
            data = {}
        if not isinstance(data, dict):
            raise Invalid(f"{file} is not a mapping of params")
        for s in items:
            _set(data, s)
        updated[str(path)] = data
    for target, data in updated.items():  # all parsed and set first: no file half-updated
        tmp = f"{target}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(dump_yaml(data))
        os.replace(tmp, target)


def _set(data: dict[str, Any], s: ParamSet) -> None:
    *parents, last = s.key.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise Invalid(f"{s.file}: {s.key} cannot be set, {part} is not a mapping")
        node = child
    node[last] = s.value
