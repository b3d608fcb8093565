"""MLflow 3: metrics logged with a model_id, kept on the logged model too; when a version was
last edited through MLflow's API

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mlflow_logged_model_metrics',
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('is_nan', sa.Boolean(), nullable=False),
    sa.Column('dataset_name', sa.String(length=500), nullable=True),
    sa.Column('dataset_digest', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['mlflow_logged_models.id'], name=op.f('fk_mlflow_logged_model_metrics_model_id_mlflow_logged_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_mlflow_logged_model_metrics_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'key', 'timestamp', 'step', 'run_id', name=op.f('pk_mlflow_logged_model_metrics'))
    )
    with op.batch_alter_table('mlflow_logged_model_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_mlflow_logged_model_metrics_dataset', ['dataset_name', 'dataset_digest'], unique=False)

    op.create_table('mlflow_version_edits',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_mlflow_version_edits_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', name=op.f('pk_mlflow_version_edits'))
    )


def downgrade() -> None:
    op.drop_table('mlflow_version_edits')
    op.drop_table('mlflow_logged_model_metrics')
