"""MLflow 3 traces, spans, assessments; logged models as run inputs

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _trace_fk() -> sa.Column:
    return sa.Column('trace_id', sa.String(length=64), nullable=False)


def upgrade() -> None:
    op.create_table('mlflow_run_model_inputs',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_mlflow_run_model_inputs_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'model_id', name=op.f('pk_mlflow_run_model_inputs'))
    )

    op.create_table('mlflow_traces',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('request_time', sa.BigInteger(), nullable=False),
    sa.Column('execution_duration', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('request_preview', sa.Text(), nullable=True),
    sa.Column('response_preview', sa.Text(), nullable=True),
    sa.Column('client_request_id', sa.String(length=250), nullable=True),
    sa.Column('run_id', sa.String(length=32), nullable=True),
    sa.Column('model_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_mlflow_traces_experiment_id_experiments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mlflow_traces'))
    )
    with op.batch_alter_table('mlflow_traces', schema=None) as batch_op:
        batch_op.create_index('ix_mlflow_traces_experiment_time', ['experiment_id', 'request_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_mlflow_traces_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mlflow_traces_model_id'), ['model_id'], unique=False)

    for table in ('mlflow_trace_tags', 'mlflow_trace_metadata'):
        op.create_table(table,
        _trace_fk(),
        sa.Column('key', sa.String(length=250), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['trace_id'], ['mlflow_traces.id'], name=op.f(f'fk_{table}_trace_id_mlflow_traces'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('trace_id', 'key', name=op.f(f'pk_{table}'))
        )

    op.create_table('mlflow_spans',
    _trace_fk(),
    sa.Column('span_id', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.String(length=16), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('start_ns', sa.BigInteger(), nullable=False),
    sa.Column('end_ns', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['trace_id'], ['mlflow_traces.id'], name=op.f('fk_mlflow_spans_trace_id_mlflow_traces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('trace_id', 'span_id', name=op.f('pk_mlflow_spans'))
    )

    op.create_table('mlflow_assessments',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('trace_id', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['trace_id'], ['mlflow_traces.id'], name=op.f('fk_mlflow_assessments_trace_id_mlflow_traces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mlflow_assessments'))
    )
    with op.batch_alter_table('mlflow_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mlflow_assessments_trace_id'), ['trace_id'], unique=False)


def downgrade() -> None:
    op.drop_table('mlflow_assessments')
    op.drop_table('mlflow_spans')
    op.drop_table('mlflow_trace_metadata')
    op.drop_table('mlflow_trace_tags')
    op.drop_table('mlflow_traces')
    op.drop_table('mlflow_run_model_inputs')
