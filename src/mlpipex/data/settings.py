"""The ``data:`` section of ``.mlpipex/config.yaml``: remotes, the default one, link types, jobs.

The only module that reads or writes that file for data commands; other sections are kept as found.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlpipex.domain.pointer import clip, load_yaml
from mlpipex.errors import Invalid

LINK_TYPES = ("reflink", "hardlink", "copy")
DEFAULT_LINKS = ("reflink", "hardlink", "copy")


@dataclass
class DataSettings:
    remotes: dict[str, str] = field(default_factory=dict)
    default_remote: str | None = None
    link: tuple[str, ...] = DEFAULT_LINKS
    jobs: int = 0  # 0: pick from the CPU count
    dvc_remote: str | None = None  # where `data pull` finds objects pointers name by DVC md5

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"remotes": dict(self.remotes)}
        if self.default_remote:
            out["default_remote"] = self.default_remote
        out["link"] = list(self.link)
        if self.jobs:
            out["jobs"] = self.jobs
        if self.dvc_remote:
            out["dvc_remote"] = self.dvc_remote
        return out


def config_path(meta: Path) -> Path:
    return meta / "config.yaml"


def _read_all(meta: Path) -> dict[str, Any]:
    path = config_path(meta)
    try:
        data = load_yaml(path.read_text(), str(path)) or {}
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise Invalid(f"{path} must be a mapping")
    return data


def load(meta: Path) -> DataSettings:
    section = _read_all(meta).get("data") or {}
    try:
        link = tuple(parse_link(section["link"])) if "link" in section else DEFAULT_LINKS
        return DataSettings(
            remotes={str(k): str(v) for k, v in (section.get("remotes") or {}).items()},
            default_remote=section.get("default_remote"),
            link=link,
            jobs=int(section.get("jobs") or 0),
            dvc_remote=str(section["dvc_remote"]) if section.get("dvc_remote") else None,
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise Invalid(f"{config_path(meta)}: bad data section: {clip(str(exc))}") from exc


def save(meta: Path, settings: DataSettings) -> None:
    data = _read_all(meta)
    data["data"] = settings.to_dict()
    meta.mkdir(parents=True, exist_ok=True)
    path = config_path(meta)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    os.replace(tmp, path)


def parse_link(value: Any) -> list[str]:
    """Link types, in the order to try, from ``"reflink,copy"`` or a list."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(x).strip() for x in items if str(x).strip()]
    bad = [n for n in names if n not in LINK_TYPES]
    if bad or not names:
        raise Invalid(
            f"unknown link type {', '.join(bad) or '(none)'}",
            hint=f"use some of {', '.join(LINK_TYPES)}, in order of preference",
        )
    return names
