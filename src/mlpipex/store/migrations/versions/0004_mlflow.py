"""MLflow-compatible API: logged models, artifact files outside runs, MLflow dataset inputs, run
outputs, version sources

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
# ruff: noqa: E501
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mlflow_logged_models',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('model_type', sa.String(length=250), nullable=True),
    sa.Column('source_run_id', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('creator', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_mlflow_logged_models_experiment_id_experiments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mlflow_logged_models'))
    )
    with op.batch_alter_table('mlflow_logged_models', schema=None) as batch_op:
        batch_op.create_index('ix_mlflow_logged_models_experiment_created', ['experiment_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mlflow_logged_models_source_run_id'), ['source_run_id'], unique=False)

    op.create_table('mlflow_logged_model_tags',
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['mlflow_logged_models.id'], name=op.f('fk_mlflow_logged_model_tags_model_id_mlflow_logged_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'key', name=op.f('pk_mlflow_logged_model_tags'))
    )
    op.create_table('mlflow_logged_model_params',
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['mlflow_logged_models.id'], name=op.f('fk_mlflow_logged_model_params_model_id_mlflow_logged_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'key', name=op.f('pk_mlflow_logged_model_params'))
    )
    op.create_table('mlflow_artifact_files',
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'path', name=op.f('pk_mlflow_artifact_files'))
    )
    with op.batch_alter_table('mlflow_artifact_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mlflow_artifact_files_digest'), ['digest'], unique=False)

    op.create_table('mlflow_dataset_inputs',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('digest', sa.String(length=80), nullable=False),
    sa.Column('source_type', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('schema', sa.Text(), nullable=True),
    sa.Column('profile', sa.Text(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_mlflow_dataset_inputs_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'name', 'digest', name=op.f('pk_mlflow_dataset_inputs'))
    )
    op.create_table('mlflow_run_outputs',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_mlflow_run_outputs_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'model_id', name=op.f('pk_mlflow_run_outputs'))
    )
    op.create_table('mlflow_version_sources',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('model_id', sa.String(length=64), nullable=True),
    sa.Column('run_link', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_mlflow_version_sources_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', name=op.f('pk_mlflow_version_sources'))
    )


def downgrade() -> None:
    op.drop_table('mlflow_version_sources')
    op.drop_table('mlflow_run_outputs')
    op.drop_table('mlflow_dataset_inputs')
    with op.batch_alter_table('mlflow_artifact_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mlflow_artifact_files_digest'))

    op.drop_table('mlflow_artifact_files')
    op.drop_table('mlflow_logged_model_params')
    op.drop_table('mlflow_logged_model_tags')
    with op.batch_alter_table('mlflow_logged_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mlflow_logged_models_source_run_id'))
        batch_op.drop_index('ix_mlflow_logged_models_experiment_created')

    op.drop_table('mlflow_logged_models')
