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
# Never written by a pointer or a stage: git runs what .git/config says, and these tools' own
# folders hold their state (a cloned repository's pointer must not replace any of it).
RESERVED = frozenset({".git", DIRNAME, ".dvc"})
MAX_POINTER_BYTES = 1 << 20  # a pointer is a few lines; a bigger one is a mistake or an attack
_META_IGNORE = (
    "# only config.yaml (remotes, link types) belongs in git\n/*\n!/config.yaml\n!/.gitignore\n"
)


@dataclass
class Workspace:
    """Paths of a data workspace; the cache is the objects layout under ``.mlpipex/cache``."""

    root: Path
    _cache: LocalStore | None = field(default=None, repr=False)
    _objects: str = field(default="", repr=False)
    _real: str = field(default="", repr=False)
    _safe: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._objects = str(self.cache_dir)  # object_path runs per file: no pathlib there
        self._real = os.path.realpath(self.root)
        self._safe_dir(str(self.cache_dir))  # .mlpipex or its cache linked elsewhere: refused

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
            self._refuse_linked_cache()
            self._cache = LocalStore(str(self.cache_dir))
        return self._cache

    def _refuse_linked_cache(self) -> None:
        """The object store writes under the cache's prefix folders: none may be a link."""
        with os.scandir(self.cache_dir) as it:
            linked = [e.name for e in it if e.is_symlink()]
        if linked:
            raise Invalid(
                f"{self.cache_dir}/{short(linked[0])} is a symbolic link; the cache holds none",
                hint="remove it (a cloned repository may have brought it)",
            )

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

    # -- where writes may go -----------------------------------------------------------------
    def dest(self, rel: str) -> Path:
        """The path to write (or remove) the root-relative rel at: every writer of data goes
        through here (or dest_str). Refused: git's and the tools' folders, and any path whose
        folders lead out of the workspace through a symbolic link (a cloned repository can hold
        one)."""
        return Path(self.dest_str(rel))

    def dest_str(self, rel: str) -> str:
        """dest as a string, for the per-file loops of checkout."""
        if ".." in rel and ".." in rel.split("/"):
            raise Invalid(f"{short(rel)} climbs out of its folder with '..'; nothing was written")
        out = self.confine(f"{self.root}/{rel}")
        # Both the path as written and where its folders really lead (a link may point into
        # .git); case-insensitively, as case-insensitive file systems open .GIT as .git.
        for text in (rel, self._inside(out)):
            reserved = _reserved(text)
            if reserved:
                raise Invalid(
                    f"{short(rel)} is inside {reserved}/, which a pointer or a stage may not write",
                    hint="track data outside .git, .mlpipex and .dvc",
                )
        return out

    def _inside(self, path: str) -> str:
        """A confined path relative to the workspace (the root as given, or as resolved)."""
        for base in (str(self.root), self._real):
            if path.startswith(base + "/"):
                return path[len(base) + 1 :]
        return path

    def confine(self, path: str) -> str:
        """path, with its folders resolved, when they stay inside the workspace; else Invalid.

        The last component is not followed: writes replace it (os.replace) or unlink it, which
        never go through a link. Folders found safe are remembered for this workspace object.
        """
        parent, _, name = path.rpartition("/")
        real = self._safe.get(parent) or self._safe_dir(parent)
        return path if real == parent else f"{real}/{name}"

    def _safe_dir(self, folder: str) -> str:
        known = self._safe.get(folder)
        if known is not None:
            return known
        real = os.path.realpath(folder)
        if real != self._real and not real.startswith(self._real + os.sep):
            raise Invalid(
                f"{short(folder)} leads outside the workspace {self.root} (to {short(real)}) "
                "through a symbolic link; nothing was written",
                hint="remove the link, or track the data where it really is",
            )
        self._safe[folder] = real
        return real

    def object_dest(self, digest: str) -> str:
        """Where to write (or remove) a cache object: object_path, confined like dest."""
        return self.confine(self.object_path(digest))

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
            with open(self.root / pointer, "rb") as f:
                data = f.read(MAX_POINTER_BYTES + 1)
        except FileNotFoundError:
            raise NotFound(f"no pointer file {pointer}") from None
        if len(data) > MAX_POINTER_BYTES:
            raise Invalid(
                f"pointer file {pointer} is larger than {MAX_POINTER_BYTES} bytes",
                hint="a pointer holds a few lines: restore it from git",
            )
        text = data.decode("utf-8", errors="replace")
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
        path = self.dest(pointer)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(dump_pointer(outs))
        os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class Tracked:
    """An out of a pointer: the pointer file, the data path (both relative to the root), the out."""

    pointer: str
    path: str
    out: PointerOut


def _reserved(rel: str) -> str | None:
    """The first reserved folder among rel's parts (any case), or None."""
    if "." not in rel:  # every reserved name starts with a dot: the per-file fast path
        return None
    return next((p for p in rel.split("/") if p.lower() in RESERVED), None)


def short(text: str, limit: int = 120) -> str:
    """text cut to limit characters: errors never echo a whole (possibly huge) value."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parent_dir(rel: str) -> str:
    return rel.rpartition("/")[0]


def _join(base: str, rel: str) -> str:
    return f"{base}/{rel}" if base else rel
