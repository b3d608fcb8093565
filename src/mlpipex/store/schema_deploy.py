"""Tables of deployment: endpoints, their rollouts, the agents serving them and the traffic
samples agents report (what rollout analysis and the endpoint charts read). Migration 0005."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mlpipex.domain.workspaces import DEFAULT_WORKSPACE
from mlpipex.store.schema import metadata, workspace_column

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    workspace_column(),
    Column("name", String(256), nullable=False),
    Column("model", String(256), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("traffic", JSON, nullable=False),  # [{"version": 3, "weight": 90}, ...]
    Column("stable_version", Integer, nullable=True),
    Column("created_by", String(256), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("workspace", "name"),
    Index("ix_endpoints_workspace_model", "workspace", "model"),
)

deployments = Table(
    "deployments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint_id", Integer, ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=False),
    Column("strategy", String(32), nullable=False),
    Column("steps", JSON, nullable=False),
    Column("step", Integer, nullable=False),  # index into steps
    Column("state", String(16), nullable=False),  # progressing | succeeded | rolled_back | paused
    Column("analysis", JSON, nullable=False),  # one result per finished step
    Column("revert", JSON, nullable=True),  # how to undo the registry change that started it
    Column("reason", Text, nullable=False, default=""),
    Column("step_started_at", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=True),
    Index("ix_deployments_endpoint_state", "endpoint_id", "state"),
)

agents = Table(
    "agents",
    metadata,
    Column("workspace", String(63), primary_key=True, server_default=DEFAULT_WORKSPACE),
    Column("name", String(256), primary_key=True),
    Column("url", Text, nullable=False),
    Column("generation", BigInteger, nullable=False),
    Column("errors", JSON, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
)

traffic_samples = Table(
    "traffic_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    workspace_column(),
    Column("endpoint", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("agent", String(256), nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("client_errors", Integer, nullable=False),
    Column("latency_buckets", JSON, nullable=False),
    Column("latency_sum_ms", Float, nullable=False),
    Index(
        "ix_traffic_samples_workspace_endpoint_version_time",
        "workspace",
        "endpoint",
        "version",
        "time",
    ),
)
