"""Tables of the MLflow-compatible API: MLflow 3 logged models, artifact files outside runs, the
MLflow form of dataset inputs and run outputs, and the MLflow source of registered versions.
Defined on the one ``schema.metadata``; migration 0004."""

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
    String,
    Table,
    Text,
)

from mlpipex.store.schema import metadata

logged_models = Table(
    "mlflow_logged_models",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(250), nullable=False),
    Column("model_type", String(250), nullable=True),
    Column("source_run_id", String(32), nullable=True, index=True),
    Column("status", String(32), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("creator", String(256), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_mlflow_logged_models_experiment_created", "experiment_id", "created_at"),
)

logged_model_tags = Table(
    "mlflow_logged_model_tags",
    metadata,
    Column(
        "model_id",
        String(64),
        ForeignKey("mlflow_logged_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

logged_model_params = Table(
    "mlflow_logged_model_params",
    metadata,
    Column(
        "model_id",
        String(64),
        ForeignKey("mlflow_logged_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

# Metrics logged with a model_id (MLflow 3): the run's metrics too, and here the logged model's,
# with the dataset they were measured on (searching logged models by dataset reads the index).
# Migration 0011.
logged_model_metrics = Table(
    "mlflow_logged_model_metrics",
    metadata,
    Column(
        "model_id",
        String(64),
        ForeignKey("mlflow_logged_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("timestamp", BigInteger, primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("value", Float, nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    Column("dataset_name", String(500), nullable=True),
    Column("dataset_digest", String(80), nullable=True),
    Index("ix_mlflow_logged_model_metrics_dataset", "dataset_name", "dataset_digest"),
)

# Content-addressed files uploaded through the artifact proxy that are not a run's artifacts
# (those are run_artifacts): a logged model's files (scope = its id) or free paths (scope "").
artifact_files = Table(
    "mlflow_artifact_files",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
)

# A dataset input as the MLflow client sent it (source, schema and profile are its JSON strings),
# returned verbatim; the run's native input (run_inputs) is what registration inherits.
dataset_inputs = Table(
    "mlflow_dataset_inputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(250), primary_key=True),
    Column("digest", String(80), primary_key=True),
    Column("source_type", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text, nullable=True),
    Column("profile", Text, nullable=True),
    Column("tags", JSON, nullable=False),
)

run_outputs = Table(
    "mlflow_run_outputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("model_id", String(64), primary_key=True),
    Column("step", BigInteger, nullable=False),
)

# Logged models a run took as input (MLflow 3's log_inputs(models=...)); migration 0008.
model_inputs = Table(
    "mlflow_run_model_inputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("model_id", String(64), primary_key=True),
)

version_sources = Table(
    "mlflow_version_sources",
    metadata,
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("source", Text, nullable=False),
    Column("model_id", String(64), nullable=True),
    Column("run_link", Text, nullable=True),
)

# When a version was last edited through MLflow's API (its description), which MLflow reports as
# the version's last update along with stage changes; migration 0011.
version_edits = Table(
    "mlflow_version_edits",
    metadata,
    Column(
        "version_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("updated_at", BigInteger, nullable=False),
)
