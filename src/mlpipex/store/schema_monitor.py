"""Tables of monitoring: the index of prediction-log files (Parquet objects, per endpoint and
hour) and alert episodes (migration 0006); request ids and feedback (migration 0009)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table

from mlpipex.store.schema import metadata, workspace_column

prediction_logs = Table(
    "prediction_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    workspace_column(),
    Column("endpoint", String(256), nullable=False),
    Column("hour", BigInteger, nullable=False),  # start of the hour, ms
    Column("digest", String(64), nullable=False),  # the Parquet object
    Column("rows", Integer, nullable=False),
    Column("versions", JSON, nullable=False),  # versions with rows in the file
    Column("first_time", BigInteger, nullable=False),
    Column("last_time", BigInteger, nullable=False),
    Index("ix_prediction_logs_workspace_endpoint_last", "workspace", "endpoint", "last_time"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    workspace_column(),
    Column("endpoint", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(32), nullable=False),  # drift | error_rate | latency | quality
    Column("state", String(16), nullable=False),  # open | closed
    Column("opened_at", BigInteger, nullable=False),
    Column("closed_at", BigInteger, nullable=True),
    Column("details", JSON, nullable=False),
    Index("ix_alerts_workspace_endpoint_state", "workspace", "endpoint", "state"),
)

# Which logged prediction each request id names (migration 0009): feedback is joined on it,
# and filed under the hour of the prediction it labels.
prediction_ids = Table(
    "prediction_ids",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    workspace_column(),
    Column("endpoint", String(256), nullable=False),
    Column("request_id", String(160), nullable=False),
    Column("version", Integer, nullable=False),
    Column("time", BigInteger, nullable=False),
    Index("ix_prediction_ids_workspace_endpoint_request", "workspace", "endpoint", "request_id"),
    # the mirror's catch-up: the ids of one endpoint added since the last it saw
    Index("ix_prediction_ids_workspace_endpoint_id", "workspace", "endpoint", "id"),
)

# Index of feedback files (Parquet objects of request_id, label, received), per endpoint and
# hour of the labelled predictions, as prediction_logs. Later rows win over earlier ones.
feedback_logs = Table(
    "feedback_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    workspace_column(),
    Column("endpoint", String(256), nullable=False),
    Column("hour", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("versions", JSON, nullable=False),
    Index("ix_feedback_logs_workspace_endpoint_hour", "workspace", "endpoint", "hour"),
)
