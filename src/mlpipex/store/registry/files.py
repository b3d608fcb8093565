"""What the stored objects are referenced by: gc keeps them, fsck checks them."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema as t
from mlpipex.store import schema_mlflow, schema_monitor


def referenced_digests(conn: Connection) -> set[str]:
    """Objects gc keeps: the files of every version, the artifacts of every run, the files
    uploaded through the MLflow artifact proxy and every logged prediction file."""
    q = sa.union(
        sa.select(t.version_files.c.digest),
        sa.select(t.run_artifacts.c.digest),
        sa.select(schema_mlflow.artifact_files.c.digest),
        sa.select(schema_monitor.prediction_logs.c.digest),
    )
    return set(conn.execute(q).scalars())


def stored_sizes(conn: Connection, sizes: set[int]) -> frozenset[int]:
    """Which of these file sizes some version already has (a hint that the bytes are stored)."""
    if not sizes:
        return frozenset()
    q = sa.select(t.version_files.c.size).where(t.version_files.c.size.in_(sizes)).distinct()
    return frozenset(conn.execute(q).scalars())


def all_files(conn: Connection) -> Iterable[tuple[str, int, str, str]]:
    """(model, version, path, digest) of every artifact file, for fsck."""
    return conn.execute(
        sa.select(
            t.models.c.name, t.versions.c.version, t.version_files.c.path, t.version_files.c.digest
        )
        .join(t.versions, t.versions.c.id == t.version_files.c.version_id)
        .join(t.models, t.models.c.id == t.versions.c.model_id)
    ).all()
