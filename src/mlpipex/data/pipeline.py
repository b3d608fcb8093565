"""Pipelines: ``mlpipex.yaml`` (the shape of ``dvc.yaml``), its graph and ``params.yaml`` values."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipex.domain.pointer import clip, load_yaml
from mlpipex.errors import Invalid, NotFound

PIPELINE = "mlpipex.yaml"
PARAMS = "params.yaml"
_MISSING = object()
_FIELDS = frozenset({"cmd", "deps", "params", "outs", "metrics", "plots", "desc"})


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    cmd: str
    deps: tuple[str, ...] = ()
    params: tuple[tuple[str, str], ...] = ()  # (file, dotted key)
    outs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()

    @property
    def all_outs(self) -> tuple[str, ...]:
        return self.outs + self.metrics + self.plots


@dataclass(frozen=True, slots=True)
class Pipeline:
    stages: dict[str, Stage]

    def upstream(self, stage: str) -> list[str]:
        """Stages whose outs a stage's deps are, or lie in (or contain)."""
        st = self.stages[stage]
        return [
            other.name
            for other in self.stages.values()
            if other.name != stage and any(_overlaps(d, o) for d in st.deps for o in other.all_outs)
        ]

    def edges(self) -> list[tuple[str, str]]:
        return [(up, name) for name in self.stages for up in self.upstream(name)]

    def order(self, target: str | None = None) -> list[Stage]:
        """Stages in dependency order: all of them, or target and what it depends on."""
        if target is not None and target not in self.stages:
            raise NotFound(
                f"no stage {target!r} in {PIPELINE}", hint=f"stages: {', '.join(self.stages)}"
            )
        done: list[str] = []
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = [*path[path.index(name) :], name]
                raise Invalid(f"the pipeline has a cycle: {' -> '.join(cycle)}")
            state[name] = 1
            for up in self.upstream(name):
                visit(up, [*path, name])
            state[name] = 2
            done.append(name)

        for name in [target] if target else self.stages:
            visit(name, [])
        return [self.stages[n] for n in done]

    def producer(self, path: str) -> str | None:
        for st in self.stages.values():
            if any(_overlaps(path, o) for o in st.all_outs):
                return st.name
        return None


def load_pipeline(root: Path) -> Pipeline:
    path = root / PIPELINE
    try:
        data = load_yaml(path.read_text(), PIPELINE)
    except FileNotFoundError:
        raise NotFound(
            f"no {PIPELINE} in {root}", hint="write the stages there, as in dvc.yaml"
        ) from None
    return parse_pipeline(data, PIPELINE)


def parse_pipeline(data: Any, filename: str, *, strict: bool = True) -> Pipeline:
    """The stages of a parsed mlpipex.yaml; strict=False reads a dvc.yaml (or an old revision)
    for its paths only, ignoring fields MLPipeX does not run."""
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict) or not stages:
        raise Invalid(f"{filename} has no stages")
    if not strict:
        stages = {
            n: {k: v for k, v in s.items() if k in _FIELDS} if isinstance(s, dict) else s
            for n, s in stages.items()
        }
    pipeline = Pipeline({str(n): _stage(str(n), s) for n, s in stages.items()})
    if strict:
        _check_outs(pipeline)
    return pipeline


def _stage(name: str, raw: Any) -> Stage:
    if not isinstance(raw, dict) or not isinstance(raw.get("cmd"), str | list):
        raise Invalid(f"stage {clip(name)} in {PIPELINE} needs a cmd")
    cmd = raw["cmd"] if isinstance(raw["cmd"], str) else " && ".join(map(str, raw["cmd"]))
    unknown = set(raw) - _FIELDS
    if unknown:
        raise Invalid(f"stage {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
    return Stage(
        name,
        cmd,
        _paths(raw, "deps", name),
        _params(raw.get("params") or [], name),
        _paths(raw, "outs", name),
        _paths(raw, "metrics", name),
        _paths(raw, "plots", name),
    )


def _paths(raw: dict[str, Any], key: str, stage: str) -> tuple[str, ...]:
    out = []
    for item in raw.get(key) or []:
        path = next(iter(item)) if isinstance(item, dict) else item  # {path: {cache: false}}
        if not isinstance(path, str):
            raise Invalid(f"stage {stage!r}: bad {key} entry {clip(item)}")
        norm = posixpath.normpath(path)
        if norm.startswith("..") or norm.startswith("/"):
            raise Invalid(f"stage {stage!r}: {key} path {clip(path)} must be inside the workspace")
        out.append(norm)
    return tuple(out)


def _params(raw: Any, stage: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for item in raw:
        if isinstance(item, str):
            out.append((PARAMS, item))
        elif isinstance(item, dict):
            for file, keys in item.items():
                out.extend((str(file), str(k)) for k in keys or [])
        else:
            raise Invalid(f"stage {stage!r}: bad params entry {clip(item)}")
    return tuple(out)


def _check_outs(p: Pipeline) -> None:
    seen: dict[str, str] = {}
    for st in p.stages.values():
        for out in st.all_outs:
            for other, owner in seen.items():
                if _overlaps(out, other):
                    raise Invalid(
                        f"output {out} of stage {st.name!r} overlaps {other} of {owner!r}"
                    )
            seen[out] = st.name


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def read_params(
    root: Path, wanted: tuple[tuple[str, str], ...], loaded: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The values of the (file, dotted key) params; loaded caches parsed files between stages."""
    out: dict[str, dict[str, Any]] = {}
    for file, key in wanted:
        if file not in loaded:
            try:
                loaded[file] = load_yaml((root / file).read_text(), file) or {}
            except FileNotFoundError:
                raise NotFound(f"params file {file} does not exist") from None
        value: Any = loaded[file]
        for part in key.split("."):
            value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING:
            raise NotFound(f"param {key} is not in {file}")
        out.setdefault(file, {})[key] = value
    return out
