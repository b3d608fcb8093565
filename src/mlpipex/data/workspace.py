"""The data workspace: the folder holding ``.mlpipex``, its cache and the pointers under it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlpipex.domain.pointer import SUFFIX, PointerOut, dump_pointer, parse_pointer
from mlpipex.errors import Invalid, NotFound
from mlpipex.location import DIRNAME, workspace_root

if TYPE_CHECKING:
    from mlpipex.objects.local import LocalStore

# Never searched for pointers: tools' folders, and hidden ones (.git, .venv, .mlpipex...).
_SKIP = {"__pycache__", "node_modules"}
_META_IGNORE = (
    "# only config.yaml (remotes, link types) belongs in git\n/*\n!/config.yaml\n!/.gitignore\n"
)


@dataclass
class Workspace:
    """Paths of a data workspace; the cache is the objects layout under ``.mlpipex/cache``."""

    root: Path
    _cache: LocalStore | None = field(default=None, repr=False)
    _objects: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self._objects = str(self.cache_dir)  # object_path runs per file: no pathlib there

    @classmethod
    def find(cls, cwd: Path | None = None) -> Workspace:
        return cls(workspace_root(cwd).resolve())

    @property
    def meta(self) -> Path:
        return self.root / DIRNAME

    @property
    def cache_dir(self) -> Path:
        return self.meta / "cache"

    @property
    def cache(self) -> LocalStore:
        from mlpipex.objects.local import LocalStore

        if self._cache is None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self._cache = LocalStore(str(self.cache_dir))
        return self._cache

    def ensure_meta(self) -> None:
        """Create ``.mlpipex`` with a .gitignore that lets only the data settings into git."""
        ignore = self.meta / ".gitignore"
        if not ignore.exists():
            self.meta.mkdir(parents=True, exist_ok=True)
            ignore.write_text(_META_IGNORE)

    def object_path(self, digest: str) -> str:
        """Where an object lives in the cache (the ObjectStore layout), without opening it."""
        return f"{self._objects}/{digest[:2]}/{digest[2:]}"

    def rel(self, path: str | os.PathLike[str]) -> str:
        """A path (absolute, or relative to the current directory) relative to the root, POSIX."""
        p = Path(os.path.abspath(path))
        try:
            rel = p.relative_to(self.root)
        except ValueError:
            raise Invalid(f"{path} is outside the workspace {self.root}") from None
        if rel.parts and rel.parts[0] == DIRNAME:
            raise Invalid(f"{path} is inside {DIRNAME}/, which MLPipeX manages")
        return rel.as_posix()

    def abs(self, rel: str) -> Path:
        return self.root / rel

    # -- pointers ----------------------------------------------------------------------------
    def pointer_files(self, suffix: str = SUFFIX) -> list[str]:
        """Every pointer file under the root (relative paths), not descending into tracked data."""
        found: list[str] = []
        stack = [""]
        while stack:
            rel = stack.pop()
            try:
                entries = list(os.scandir(self.root / rel if rel else self.root))
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue
            names = {e.name for e in entries}
            for e in entries:
                if e.name.endswith(suffix) and e.is_file():
                    found.append(f"{rel}/{e.name}" if rel else e.name)
            for e in entries:
                if (
                    e.name.startswith(".")
                    or e.name in _SKIP
                    or e.name + suffix in names
                    or not e.is_dir(follow_symlinks=False)
                ):
                    continue
                stack.append(f"{rel}/{e.name}" if rel else e.name)
        return sorted(found)

    def read_pointer(self, pointer: str) -> list[Tracked]:
        try:
            text = (self.root / pointer).read_text()
        except FileNotFoundError:
            raise NotFound(f"no pointer file {pointer}") from None
        base = parent_dir(pointer)
        return [Tracked(pointer, _join(base, o.path), o) for o in parse_pointer(text, pointer)]

    def tracked(self, targets: list[str] | None = None) -> list[Tracked]:
        """What the pointers track; targets (data paths or pointer files) narrow it."""
        if not targets:
            return [t for p in self.pointer_files() for t in self.read_pointer(p)]
        out: list[Tracked] = []
        for target in targets:
            rel = self.rel(target)
            pointer = rel if rel.endswith(SUFFIX) else rel + SUFFIX
            out.extend(self.read_pointer(pointer))
        return out

    def write_pointer(self, pointer: str, outs: list[PointerOut]) -> None:
        path = self.root / pointer
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(dump_pointer(outs))
        os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class Tracked:
    """An out of a pointer: the pointer file, the data path (both relative to the root), the out."""

    pointer: str
    path: str
    out: PointerOut


def parent_dir(rel: str) -> str:
    return rel.rpartition("/")[0]


def _join(base: str, rel: str) -> str:
    return f"{base}/{rel}" if base else rel
