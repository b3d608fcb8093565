"""MLflow traces linked to several runs (MLflow's LinkTracesToRun); spans' text for full-text
search

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mlflow_trace_runs',
    sa.Column('trace_id', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_mlflow_trace_runs_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('trace_id', 'run_id', name=op.f('pk_mlflow_trace_runs'))
    )
    with op.batch_alter_table('mlflow_trace_runs', schema=None) as batch_op:
        batch_op.create_index('ix_mlflow_trace_runs_run_id', ['run_id', 'trace_id'], unique=False)

    with op.batch_alter_table('mlflow_spans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('mlflow_spans', schema=None) as batch_op:
        batch_op.drop_column('text')

    op.drop_table('mlflow_trace_runs')
