"""feedback: request ids of logged predictions, and the index of feedback files

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('prediction_ids',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('endpoint', sa.String(length=256), nullable=False),
    sa.Column('request_id', sa.String(length=160), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('time', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prediction_ids'))
    )
    with op.batch_alter_table('prediction_ids', schema=None) as batch_op:
        batch_op.create_index('ix_prediction_ids_endpoint_request', ['endpoint', 'request_id'], unique=False)

    op.create_table('feedback_logs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('endpoint', sa.String(length=256), nullable=False),
    sa.Column('hour', sa.BigInteger(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('versions', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_logs'))
    )
    with op.batch_alter_table('feedback_logs', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_logs_endpoint_hour', ['endpoint', 'hour'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_logs_endpoint_hour')
    op.drop_table('feedback_logs')
    with op.batch_alter_table('prediction_ids', schema=None) as batch_op:
        batch_op.drop_index('ix_prediction_ids_endpoint_request')
    op.drop_table('prediction_ids')
