"""MLflow traces linked to several runs (MLflow's LinkTracesToRun); spans' text for full-text
search; MLflow GenAI evaluation datasets (with their tags, experiments and records) and scorers

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
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


    op.create_table('mlflow_eval_datasets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('workspace', sa.String(length=63), server_default='default', nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('schema', sa.Text(), nullable=True),
    sa.Column('profile', sa.Text(), nullable=True),
    sa.Column('created_time', sa.BigInteger(), nullable=False),
    sa.Column('last_update_time', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=250), nullable=True),
    sa.Column('last_updated_by', sa.String(length=250), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mlflow_eval_datasets'))
    )
    with op.batch_alter_table('mlflow_eval_datasets', schema=None) as batch_op:
        batch_op.create_index('ix_mlflow_eval_datasets_workspace_created', ['workspace', 'created_time'], unique=False)
        batch_op.create_index('ix_mlflow_eval_datasets_workspace_name', ['workspace', 'name'], unique=False)

    op.create_table('mlflow_eval_dataset_tags',
    sa.Column('dataset_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['mlflow_eval_datasets.id'], name=op.f('fk_mlflow_eval_dataset_tags_dataset_id_mlflow_eval_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'key', name=op.f('pk_mlflow_eval_dataset_tags'))
    )
    op.create_table('mlflow_eval_dataset_experiments',
    sa.Column('dataset_id', sa.String(length=64), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['mlflow_eval_datasets.id'], name=op.f('fk_mlflow_eval_dataset_experiments_dataset_id_mlflow_eval_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_mlflow_eval_dataset_experiments_experiment_id_experiments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'experiment_id', name=op.f('pk_mlflow_eval_dataset_experiments'))
    )
    with op.batch_alter_table('mlflow_eval_dataset_experiments', schema=None) as batch_op:
        batch_op.create_index('ix_mlflow_eval_dataset_experiments_experiment', ['experiment_id', 'dataset_id'], unique=False)

    op.create_table('mlflow_eval_dataset_records',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('dataset_id', sa.String(length=64), nullable=False),
    sa.Column('input_hash', sa.String(length=64), nullable=False),
    sa.Column('inputs', sa.Text(), nullable=False),
    sa.Column('expectations', sa.Text(), nullable=True),
    sa.Column('outputs', sa.Text(), nullable=True),
    sa.Column('tags', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('created_time', sa.BigInteger(), nullable=False),
    sa.Column('last_update_time', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=250), nullable=True),
    sa.Column('last_updated_by', sa.String(length=250), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['mlflow_eval_datasets.id'], name=op.f('fk_mlflow_eval_dataset_records_dataset_id_mlflow_eval_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mlflow_eval_dataset_records'))
    )
    with op.batch_alter_table('mlflow_eval_dataset_records', schema=None) as batch_op:
        batch_op.create_index('ix_mlflow_eval_dataset_records_created', ['dataset_id', 'created_time'], unique=False)
        batch_op.create_index('ux_mlflow_eval_dataset_records_inputs', ['dataset_id', 'input_hash'], unique=True)

    op.create_table('mlflow_scorers',
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('scorer_id', sa.String(length=64), nullable=False),
    sa.Column('serialized', sa.Text(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_mlflow_scorers_experiment_id_experiments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('experiment_id', 'name', 'version', name=op.f('pk_mlflow_scorers'))
    )


def downgrade() -> None:
    op.drop_table('mlflow_scorers')
    op.drop_table('mlflow_eval_dataset_records')
    op.drop_table('mlflow_eval_dataset_experiments')
    op.drop_table('mlflow_eval_dataset_tags')
    op.drop_table('mlflow_eval_datasets')
    with op.batch_alter_table('mlflow_spans', schema=None) as batch_op:
        batch_op.drop_column('text')

    op.drop_table('mlflow_trace_runs')
