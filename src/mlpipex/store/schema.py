"""The registry's tables (SQLAlchemy Core). Changes go through an Alembic migration."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mlpipex.domain.workspaces import DEFAULT_WORKSPACE


def workspace_column() -> Column[str]:
    """The workspace a row belongs to (migration 0012): it leads the unique keys and the indexes
    listings read, so names repeat across workspaces and a big workspace never slows a small one."""
    return Column("workspace", String(63), nullable=False, server_default=DEFAULT_WORKSPACE)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("default_artifact_root", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # quotas; NULL is unlimited
    Column("max_models", Integer, nullable=True),
    Column("max_versions", Integer, nullable=True),
    Column("max_bytes", BigInteger, nullable=True),
    Column("max_endpoints", Integer, nullable=True),
)

models = Table(
    "registered_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    workspace_column(),
    Column("name", String(256), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("policy", JSON, nullable=True),
    Column("last_version", Integer, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("workspace", "name"),
)

model_tags = Table(
    "model_tags",
    metadata,
    Column(
        "model_id",
        Integer,
        ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

aliases = Table(
    "aliases",
    metadata,
    Column(
        "model_id",
        Integer,
        ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("alias", String(256), primary_key=True),
    Column("version", Integer, nullable=False),
)

versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "model_id", Integer, ForeignKey("registered_models.id", ondelete="CASCADE"), nullable=False
    ),
    Column("version", Integer, nullable=False),
    Column("stage", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("commit", String(64), nullable=True),
    Column("commit_dirty", Boolean, nullable=False, default=False),
    Column("run_id", String(64), nullable=True),
    Column("flavor", String(64), nullable=True),
    Column("artifact_digest", String(64), nullable=False),
    Column("artifact_size", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("stage_entered_at", BigInteger, nullable=False),
    UniqueConstraint("model_id", "version"),
    Index("ix_model_versions_model_stage_version", "model_id", "stage", "version"),
)

version_metrics = Table(
    "version_metrics",
    metadata,
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Float, nullable=False),
)

version_tags = Table(
    "version_tags",
    metadata,
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

version_datasets = Table(
    "version_datasets",
    metadata,
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("name", String(250), primary_key=True),
    Column("uri", Text, nullable=False),
    Column("digest", String(80), nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("stage", String(250), nullable=True),
)

version_files = Table(
    "version_files",
    metadata,
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
)

transition_requests = Table(
    "transition_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False
    ),
    Column("to_stage", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", String(256), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_transition_requests_version_status", "version_id", "status"),
)

approvals = Table(
    "approvals",
    metadata,
    Column(
        "request_id",
        Integer,
        ForeignKey("transition_requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("actor", String(256), primary_key=True),
    Column("comment", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
)

# Each workspace's hash chain head: one row per workspace, locked by every append there so
# that chain stays linear while other workspaces append beside it.
chain_heads = Table(
    "chain_heads",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("workspace", String(63), primary_key=True, server_default=DEFAULT_WORKSPACE),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time", BigInteger, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("model", String(256), nullable=True),
    Column("version", Integer, nullable=True),
    Column("reason", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_events_workspace_model_seq", "workspace", "model", "seq"),
)

# -- experiment tracking (MLflow's nouns) ----------------------------------------------------

experiments = Table(
    "experiments",
    metadata,
    # MLflow's ids are strings; ours are integers shown as strings, with "0" the Default experiment.
    Column("id", Integer, primary_key=True, autoincrement=True),
    workspace_column(),
    Column("name", String(256), nullable=False),
    Column("lifecycle_stage", String(32), nullable=False, default="active"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("workspace", "name"),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(250), nullable=False),
    Column("status", String(16), nullable=False),
    Column("lifecycle_stage", String(32), nullable=False, default="active"),
    Column("user_id", String(256), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("parent_id", String(32), nullable=True, index=True),
    Column("commit", String(64), nullable=True),
    Column("commit_dirty", Boolean, nullable=False, default=False),
    Column("entry_point", Text, nullable=True),
    # search_runs' default order (newest first within the experiments asked for) reads this index.
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    # Values reach 6000 characters, too long for a PostgreSQL btree entry, so filters seek by
    # key and compare the value in the rows found.
    Index("ix_params_key", "key"),
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_run_tags_key", "key"),
)

# The latest value of each metric of each run (MLflow's rule: highest step, then timestamp), kept
# apart from the history so search and order by a metric read one row per run.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Float, nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

# Append-only; one secondary index so that thousands of inserts a second stay cheap.
metric_history = Table(
    "metric_history",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float, nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Index("ix_metric_history_run_key_step", "run_id", "key", "step"),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(250), primary_key=True),
    Column("uri", Text, nullable=False),
    Column("digest", String(80), nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("schema", JSON, nullable=True),
    Column("num_rows", BigInteger, nullable=True),
    Column("context", String(64), nullable=True),
)

# A run's artifacts: content-addressed objects listed by path, so runs:/ID/model is the manifest
# of the rows under the prefix "model/".
run_artifacts = Table(
    "run_artifacts",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
)

# -- access: users, their roles, API tokens (stored as hashes only) ---------------------------
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=True),
    Column("roles", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", BigInteger, nullable=False),
)

model_grants = Table(
    "model_grants",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("workspace", String(63), primary_key=True, server_default=DEFAULT_WORKSPACE),
    Column("model", String(256), primary_key=True),
    Column("role", String(32), nullable=False),
)

# A user's role in one workspace, beside the roles held everywhere (users.roles).
workspace_roles = Table(
    "workspace_roles",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("workspace", String(63), primary_key=True),
    Column("role", String(32), nullable=False),
    Index("ix_workspace_roles_workspace", "workspace"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Column("workspace", String(63), nullable=True),  # the one workspace it acts in; NULL: any
)

# Failed sign-ins per user name and per client address, shared by every server replica.
login_failures = Table(
    "login_failures",
    metadata,
    Column("scope", String(8), primary_key=True),  # "user" or "client"
    Column("key", String(256), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure", BigInteger, nullable=False),
    Column("locked_until", BigInteger, nullable=False),
    Index("ix_login_failures_last", "last_failure"),
)

# -- webhooks: subscriptions to event kinds, and one delivery row per (webhook, event) ---------
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    workspace_column(),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),
    Column("secret_enc", Text, nullable=False),  # encrypted with the server's key, never clear
    Column("active", Boolean, nullable=False, default=True),
    Column("created_by", String(256), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_webhooks_workspace", "workspace"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
)

# Tables of other parts register on this metadata when their module is imported.
from mlpipex.store import (  # noqa: E402, F401
    schema_deploy,
    schema_genai,
    schema_mlflow,
    schema_monitor,
    schema_traces,
)
