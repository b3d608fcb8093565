"""The ranges of the integers the registry stores, as types every front end declares, so that a
number no column can hold is refused as bad input rather than failing in the database driver."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

INT32_MAX = 2**31 - 1  # Integer columns: version numbers, row ids
INT64_MAX = 2**63 - 1  # BigInteger columns: times in ms, sizes, event sequence numbers

VersionNumber = Annotated[int, Ge(1), Le(INT32_MAX)]
RowId = Annotated[int, Ge(1), Le(INT32_MAX)]
Millis = Annotated[int, Ge(0), Le(INT64_MAX)]
ByteSize = Annotated[int, Ge(0), Le(INT64_MAX)]
Seq = Annotated[int, Ge(0), Le(INT64_MAX)]
Int64 = Annotated[int, Ge(-INT64_MAX - 1), Le(INT64_MAX)]  # MLflow's metric steps and times
Seconds = Annotated[int, Ge(1), Le(INT32_MAX)]
Window = Annotated[int, Ge(1), Le(1_000_000)]  # rows or requests one read looks at

# A token lives at least a minute (shorter ones rounded to nothing) and at most ten years.
MIN_TOKEN_SECONDS = 60
MAX_TOKEN_SECONDS = 10 * 365 * 86400
TokenSeconds = Annotated[int, Ge(MIN_TOKEN_SECONDS), Le(MAX_TOKEN_SECONDS)]
