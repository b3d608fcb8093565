"""Aggregates over MLflow 3 traces, computed by the database: counts of traces meeting several
filters at once, and a measure's statistics per group of traces, a page of groups at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema_traces as tt

T = tt.traces.c
Conditions = Sequence[sa.ColumnElement[bool]]


def counts(conn: Connection, scope: Conditions, filters: Sequence[Conditions]) -> list[int]:
    """How many traces meet scope, then how many of those meet each of filters, in one scan."""
    columns = [sa.func.count()] + [sa.func.count().filter(sa.and_(sa.true(), *f)) for f in filters]
    row = conn.execute(sa.select(*columns).select_from(tt.traces).where(*scope)).one()
    return [int(n) for n in row]


def name_of_trace(name_key: str) -> sa.ColumnElement[str | None]:
    """A trace's name: the value of its tag name_key (None without one)."""
    tags = tt.trace_tags.c
    return (
        sa.select(tags.value).where(tags.trace_id == T.id, tags.key == name_key).scalar_subquery()
    )


@dataclass(frozen=True, slots=True)
class Group:
    """A group of traces: the values it is grouped by, how many traces, and the sum, least and
    greatest of the measure, with, for each rank asked, the values at its floor and ceiling."""

    key: tuple[int | str, ...]
    count: int
    sum: float
    min: float
    max: float
    ranks: tuple[tuple[float, float], ...]


def groups(
    conn: Connection,
    conds: Conditions,
    keys: Sequence[sa.ColumnElement[Any]],
    measure: sa.ColumnElement[Any],
    percentiles: Sequence[float],
    limit: int,
    offset: int,
) -> list[Group]:
    """The groups by keys (in their order, strings by code point) of the traces meeting conds
    whose keys and measure are not null, from offset, at most limit. A percentile p (0 to 100)
    brings the values of ranks floor and ceiling of (count - 1) * p / 100 (from 0, by
    measure), between which it is interpolated."""
    names = [f"k{i}" for i in range(len(keys))]
    labelled = [c.label(n) for c, n in zip(keys, names, strict=True)] + [measure.label("v")]
    rows = sa.select(*labelled).where(*conds).subquery()
    k, v = [rows.c[n] for n in names], rows.c.v
    present = [c.is_not(None) for c in (*k, v)]
    if percentiles:  # each trace's rank by measure within its group (from 0), and group's size
        rank = sa.over(sa.func.row_number(), partition_by=k, order_by=v) - 1
        size = sa.over(sa.func.count(), partition_by=k)
        rows = sa.select(*k, v, rank.label("rank"), size.label("n")).where(*present).subquery()
        k, v, present = [rows.c[n] for n in names], rows.c.v, []
    stats: list[sa.ColumnElement[Any]] = [
        sa.func.count(),
        sa.func.sum(v),
        sa.func.min(v),
        sa.func.max(v),
    ]
    for p in percentiles:
        # rank * 100 against (n - 1) * p: the product Python forms, and no division rounded
        at = (rows.c.n - 1) * p
        stats.append(sa.func.max(v).filter(rows.c.rank * 100 <= at))
        stats.append(sa.func.min(v).filter(rows.c.rank * 100 >= at))
    order = [_code_points(c, conn.dialect.name) for c in k]
    q = sa.select(*k, *stats).where(*present).group_by(*k).order_by(*order)
    # without keys an aggregate is one row even over no traces: that is no group
    q = q.having(sa.func.count() > 0).limit(limit).offset(offset)
    out = []
    for r in conn.execute(q):
        key, (n, total, low, high, *ranked) = tuple(r[: len(k)]), r[len(k) :]
        pairs = tuple((float(a), float(b)) for a, b in zip(ranked[::2], ranked[1::2], strict=True))
        out.append(Group(key, int(n), float(total), float(low), float(high), pairs))
    return out


def _code_points(column: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[Any]:
    """Strings in code point order whatever the database's collation (PostgreSQL's may sort by
    language; SQLite compares bytes already)."""
    if dialect == "postgresql" and isinstance(column.type, sa.String):
        return sa.collate(column, "C")
    return column
