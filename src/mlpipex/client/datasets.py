"""What a run records of a dataset beyond its digest: column types and row count, read cheaply
(Parquet footers, CSV headers); DataFrames are written as Parquet first."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from mlpipex.errors import Invalid

Described = tuple[dict[str, str] | None, int | None]


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
