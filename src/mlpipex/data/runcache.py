"""The run cache, ``.mlpipex/runs/``: outs of every (command, dependency digests, params) seen.

A stage about to run with a combination seen before gets its outs back from the cache instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import blake3

from mlpipex.data.build import load_manifest
from mlpipex.data.workspace import Workspace
from mlpipex.domain.pointer import PointerOut, dump_yaml, load_yaml, out_from_dict
from mlpipex.errors import MLPipeXError


def run_key(cmd: str, deps: Sequence[PointerOut], params: dict[str, dict[str, Any]]) -> str:
    canon = {"cmd": cmd, "deps": sorted([d.path, str(d.digest)] for d in deps), "params": params}
    return blake3.blake3(json.dumps(canon, sort_keys=True, default=str).encode()).hexdigest()


def _entry(ws: Workspace, key: str) -> Path:
    return ws.meta / "runs" / key[:2] / f"{key[2:]}.yaml"


def lookup(ws: Workspace, key: str) -> list[PointerOut] | None:
    """The outs recorded for key, when every object they need is still in the cache."""
    path = _entry(ws, key)
    try:
        outs = [out_from_dict(r, str(path)) for r in load_yaml(path.read_text(), str(path))["outs"]]
    except (FileNotFoundError, KeyError, TypeError, MLPipeXError):
        return None
    for out in outs:
        if not os.path.exists(ws.object_path(out.digest.hex)):
            return None
        if out.isdir:
            try:
                files = load_manifest(ws, out.digest.hex).files
            except MLPipeXError:
                return None
            if any(not os.path.exists(ws.object_path(e.digest)) for e in files):
                return None
    return outs


def save(ws: Workspace, key: str, outs: Sequence[PointerOut]) -> None:
    path = Path(ws.confine(str(_entry(ws, key))))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(dump_yaml({"outs": [o.to_dict() for o in outs]}))
    os.replace(tmp, path)
