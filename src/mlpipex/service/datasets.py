"""Dataset references: NAME=PATH (hashed), NAME=POINTER (.mpx, .dvc) or NAME=URI#DIGEST."""

from __future__ import annotations

from pathlib import Path

from mlpipex.domain.digest import Digest
from mlpipex.domain.models import DatasetRef
from mlpipex.errors import Invalid, NotFound
from mlpipex.objects.hashing import Progress
from mlpipex.objects.manifest import hash_tree


def resolve(name: str, ref: str, cwd: Path, progress: Progress | None = None) -> DatasetRef:
    """A dataset reference with its digest: a URI with ``#digest`` is taken as given;
    a pointer file resolves to what it records; any other local path is hashed."""
    uri, sep, frag = ref.rpartition("#")
    if sep and "://" in uri:
        return DatasetRef(name, uri, str(Digest.parse(frag)))
    if "://" in ref and not ref.startswith("file://"):
        raise Invalid(
            f"dataset {name}: {ref} has no digest",
            hint="append #blake3:<hex> or #md5:<hex> to a remote URI, or give a local path",
        )
    path = Path(ref.removeprefix("file://"))
    path = path if path.is_absolute() else cwd / path
    pointer = _pointer_of(path)
    if pointer is not None:
        return _from_pointer(name, pointer)
    if not path.exists():
        raise NotFound(f"dataset {name}: {path} does not exist")
    manifest = hash_tree(path, progress)
    digest = manifest.files[0].digest if path.is_file() else manifest.digest
    return DatasetRef(name, path.resolve().as_uri(), f"blake3:{digest}", manifest.size)


def _pointer_of(path: Path) -> Path | None:
    if path.suffix in {".mpx", ".dvc"} and path.is_file():
        return path
    for suffix in (".mpx", ".dvc"):
        p = path.with_name(path.name + suffix)
        if p.is_file():
            return p
    return None


def _from_pointer(name: str, pointer: Path) -> DatasetRef:
    from mlpipex.domain import pointer as pointers

    outs = pointers.read_reference(pointer.read_text(), pointer.name)
    if len(outs) != 1:
        raise Invalid(
            f"dataset {name}: {pointer} records {len(outs)} outputs; reference one by path"
        )
    out = outs[0]
    target = (pointer.parent / out.path).resolve()
    return DatasetRef(name, target.as_uri(), str(out.digest), out.size)
