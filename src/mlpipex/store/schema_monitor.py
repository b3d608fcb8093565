"""Tables of monitoring: the index of prediction-log files (Parquet objects, per endpoint and
hour) and alert episodes. Migration 0006."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table

from mlpipex.store.schema import metadata

prediction_logs = Table(
    "prediction_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", String(256), nullable=False),
    Column("hour", BigInteger, nullable=False),  # start of the hour, ms
    Column("digest", String(64), nullable=False),  # the Parquet object
    Column("rows", Integer, nullable=False),
    Column("versions", JSON, nullable=False),  # versions with rows in the file
    Column("first_time", BigInteger, nullable=False),
    Column("last_time", BigInteger, nullable=False),
    Index("ix_prediction_logs_endpoint_last", "endpoint", "last_time"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(32), nullable=False),  # drift | error_rate | latency
    Column("state", String(16), nullable=False),  # open | closed
    Column("opened_at", BigInteger, nullable=False),
    Column("closed_at", BigInteger, nullable=True),
    Column("details", JSON, nullable=False),
    Index("ix_alerts_endpoint_state", "endpoint", "state"),
)
