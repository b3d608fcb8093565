"""MLflow 3 traces: one row per trace (its info, linked to its run and logged model), its tags
and metadata, its spans (each the OTLP span as the client sent it, in OTLP's JSON) and its
assessments (MLflow's JSON). Defined on the one ``schema.metadata``; migration 0008."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from mlpipex.store.schema import metadata


def _trace_fk() -> Column[str]:
    return Column(
        "trace_id", String(64), ForeignKey("mlflow_traces.id", ondelete="CASCADE"), primary_key=True
    )


traces = Table(
    "mlflow_traces",
    metadata,
    Column("id", String(64), primary_key=True),  # "tr-" and the OTel trace id in hex
    Column(
        "experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False
    ),
    Column("request_time", BigInteger, nullable=False),  # ms
    Column("execution_duration", BigInteger, nullable=True),  # ms
    Column("state", String(32), nullable=False),
    Column("request_preview", Text, nullable=True),
    Column("response_preview", Text, nullable=True),
    Column("client_request_id", String(250), nullable=True),
    Column("run_id", String(32), nullable=True, index=True),
    Column("model_id", String(64), nullable=True, index=True),
    Index("ix_mlflow_traces_experiment_time", "experiment_id", "request_time"),
)

trace_tags = Table(
    "mlflow_trace_tags",
    metadata,
    _trace_fk(),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

trace_metadata = Table(
    "mlflow_trace_metadata",
    metadata,
    _trace_fk(),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

spans = Table(
    "mlflow_spans",
    metadata,
    _trace_fk(),
    Column("span_id", String(16), primary_key=True),
    Column("parent_id", String(16), nullable=True),
    Column("name", Text, nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=True),
    Column("status", String(32), nullable=False),
    Column("content", Text, nullable=False),
    # name and values, for full-text search (migration 0013; spans stored before it have none)
    Column("text", Text, nullable=False, server_default=""),
)

assessments = Table(
    "mlflow_assessments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "trace_id",
        String(64),
        ForeignKey("mlflow_traces.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("content", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# Runs a trace was linked to after the fact (MLflow's LinkTracesToRun), beside the run it was
# made under (its metadata). No key to the trace: a link may arrive before the trace's info.
trace_runs = Table(
    "mlflow_trace_runs",
    metadata,
    Column("trace_id", String(64), primary_key=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_mlflow_trace_runs_run_id", "run_id", "trace_id"),
)
