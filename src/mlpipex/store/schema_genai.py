"""MLflow GenAI evaluation: evaluation datasets (a team's own, so keyed by workspace; their
tags, the experiments they belong to, their records) and scorers (versions under an
experiment). Defined on the one ``schema.metadata``; migration 0013."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from mlpipex.store.schema import metadata, workspace_column


def _dataset_fk() -> Column[str]:
    return Column(
        "dataset_id",
        String(64),
        ForeignKey("mlflow_eval_datasets.id", ondelete="CASCADE"),
        primary_key=True,
    )


eval_datasets = Table(
    "mlflow_eval_datasets",
    metadata,
    Column("id", String(64), primary_key=True),  # "d-" and a random hex
    workspace_column(),
    Column("name", String(250), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("schema", Text, nullable=True),
    Column("profile", Text, nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Column("created_by", String(250), nullable=True),
    Column("last_updated_by", String(250), nullable=True),
    Index("ix_mlflow_eval_datasets_workspace_name", "workspace", "name"),
    Index("ix_mlflow_eval_datasets_workspace_created", "workspace", "created_time"),
)

eval_dataset_tags = Table(
    "mlflow_eval_dataset_tags",
    metadata,
    _dataset_fk(),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

eval_dataset_experiments = Table(
    "mlflow_eval_dataset_experiments",
    metadata,
    _dataset_fk(),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_mlflow_eval_dataset_experiments_experiment", "experiment_id", "dataset_id"),
)

eval_dataset_records = Table(
    "mlflow_eval_dataset_records",
    metadata,
    Column("id", String(64), primary_key=True),  # "dr-" and a random hex
    Column(
        "dataset_id",
        String(64),
        ForeignKey("mlflow_eval_datasets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("input_hash", String(64), nullable=False),  # a record is upserted by its inputs
    Column("inputs", Text, nullable=False),  # JSON texts, as the client sent them
    Column("expectations", Text, nullable=True),
    Column("outputs", Text, nullable=True),
    Column("tags", Text, nullable=True),
    Column("source", Text, nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Column("created_by", String(250), nullable=True),
    Column("last_updated_by", String(250), nullable=True),
    Index("ux_mlflow_eval_dataset_records_inputs", "dataset_id", "input_hash", unique=True),
    Index("ix_mlflow_eval_dataset_records_created", "dataset_id", "created_time"),
)

scorers = Table(
    "mlflow_scorers",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("name", String(250), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("scorer_id", String(64), nullable=False),  # one per name, kept across versions
    Column("serialized", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
