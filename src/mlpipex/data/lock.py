"""``mlpipex.lock``: per stage, the command, dependency digests, params and outs of its last run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpipex.domain.pointer import (
    LOCKFILE,
    PointerOut,
    clip,
    dump_yaml,
    load_yaml,
    out_from_dict,
)
from mlpipex.errors import Invalid

SCHEMA = "1"


@dataclass(frozen=True)
class LockEntry:
    cmd: str
    deps: tuple[PointerOut, ...] = ()
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    outs: tuple[PointerOut, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"cmd": self.cmd, "deps": [d.to_dict() for d in self.deps]}
        if self.params:
            row["params"] = self.params
        row["outs"] = [o.to_dict() for o in self.outs]
        return row


def read_lock(root: Path) -> dict[str, LockEntry]:
    try:
        data = load_yaml((root / LOCKFILE).read_text(), LOCKFILE) or {}
    except FileNotFoundError:
        return {}
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        raise Invalid(f"{LOCKFILE} has no stages", hint="remove it and run `mlpipex repro`")
    out = {}
    for name, raw in stages.items():
        if not isinstance(raw, dict):
            raise Invalid(f"{LOCKFILE}: stage {clip(name)} is malformed")
        out[str(name)] = LockEntry(
            str(raw.get("cmd", "")),
            tuple(out_from_dict(d, LOCKFILE) for d in raw.get("deps") or []),
            dict(raw.get("params") or {}),
            tuple(out_from_dict(o, LOCKFILE) for o in raw.get("outs") or []),
        )
    return out


def write_lock(root: Path, entries: dict[str, LockEntry], order: list[str]) -> None:
    names = [n for n in order if n in entries] + sorted(n for n in entries if n not in order)
    text = dump_yaml({"schema": SCHEMA, "stages": {n: entries[n].to_dict() for n in names}})
    path = root / LOCKFILE
    tmp = path.with_name(f".{LOCKFILE}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
