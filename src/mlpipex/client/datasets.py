"""Datasets as the caller sees them: a reference resolved to its digest (NAME=PATH is hashed,
NAME=POINTER (.mpx, .dvc) reads what it records, NAME=URI#DIGEST is taken as given), and what a
run records beyond the digest (column types and row count, read cheaply from Parquet footers and
CSV headers; DataFrames are written as Parquet first)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from mlpipex.domain.digest import Digest
from mlpipex.domain.models import DatasetRef
from mlpipex.errors import Invalid, NotFound
from mlpipex.objects.hashing import Progress
from mlpipex.objects.manifest import hash_tree

Described = tuple[dict[str, str] | None, int | None]


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


def describe_file(path: Path) -> Described:
    """(column -> type, rows) of a Parquet or CSV file; (None, None) for anything else."""
    if not path.is_file():
        return None, None
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
        return {f.name: str(f.type) for f in schema}, int(meta.num_rows)
    if suffix in (".csv", ".tsv"):
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f, delimiter="\t" if suffix == ".tsv" else ",")
            header = next(reader, None)
            rows = sum(1 for _ in reader)
        return ({c: "string" for c in header} if header else None), rows
    return None, None


def write_frame(data: Any, path: Path, name: str) -> Described:
    """Write a pandas DataFrame or pyarrow Table as Parquet at path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(data, pa.Table):
        table = data
    else:
        import pandas as pd

        if not isinstance(data, pd.DataFrame):
            raise Invalid(
                f"dataset {name!r}: {type(data).__name__} is neither a path nor a DataFrame",
                hint="pass a file or directory path, a pandas DataFrame or a pyarrow Table",
            )
        table = pa.Table.from_pandas(data, preserve_index=False)
    pq.write_table(table, path)
    return {f.name: str(f.type) for f in table.schema}, table.num_rows
