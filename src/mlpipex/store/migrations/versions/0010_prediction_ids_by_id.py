"""prediction_ids: an index on (endpoint, id), so the request-id mirror's catch-up reads only
the ids added since it last looked

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('prediction_ids', schema=None) as batch_op:
        batch_op.create_index('ix_prediction_ids_endpoint_id', ['endpoint', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('prediction_ids', schema=None) as batch_op:
        batch_op.drop_index('ix_prediction_ids_endpoint_id')
