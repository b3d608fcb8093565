"""Workspaces: every row a team owns belongs to one; names are unique within a workspace; one
hash chain per workspace; workspace roles beside per-model grants; tokens limited to one.
Everything there was before lands in the workspace ``default``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_WS = 'default'


def _workspace() -> sa.Column:
    return sa.Column('workspace', sa.String(length=63), nullable=False, server_default=_WS)


def upgrade() -> None:
    op.create_table('workspaces',
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('default_artifact_root', sa.Text(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('max_models', sa.Integer(), nullable=True),
    sa.Column('max_versions', sa.Integer(), nullable=True),
    sa.Column('max_bytes', sa.BigInteger(), nullable=True),
    sa.Column('max_endpoints', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_workspaces'))
    )
    op.execute(
        "INSERT INTO workspaces (name, description, created_at) VALUES ('default', "
        "'The workspace of everything created without naming one', 0)"
    )
    op.create_table('workspace_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('workspace', sa.String(length=63), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_workspace_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'workspace', name=op.f('pk_workspace_roles'))
    )
    op.create_index('ix_workspace_roles_workspace', 'workspace_roles', ['workspace'], unique=False)

    # the chain head, one row per workspace
    op.create_table('chain_heads',
    sa.Column('workspace', sa.String(length=63), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('workspace', name=op.f('pk_chain_heads'))
    )
    op.execute(
        "INSERT INTO chain_heads (workspace, seq, hash) SELECT 'default', seq, hash "
        "FROM chain_head WHERE id = 1"
    )
    op.drop_table('chain_head')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(_workspace())
        batch_op.drop_index('ix_events_model_seq')
        batch_op.drop_constraint('pk_events', type_='primary')
        batch_op.create_primary_key('pk_events', ['workspace', 'seq'])
        batch_op.create_index('ix_events_workspace_model_seq', ['workspace', 'model', 'seq'], unique=False)

    with op.batch_alter_table('registered_models', schema=None) as batch_op:
        batch_op.add_column(_workspace())
        batch_op.drop_constraint('uq_registered_models_name', type_='unique')
        batch_op.create_unique_constraint('uq_registered_models_workspace_name', ['workspace', 'name'])

    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.add_column(_workspace())
        batch_op.drop_constraint('uq_experiments_name', type_='unique')
        batch_op.create_unique_constraint('uq_experiments_workspace_name', ['workspace', 'name'])

    with op.batch_alter_table('endpoints', schema=None) as batch_op:
        batch_op.add_column(_workspace())
        batch_op.drop_index('ix_endpoints_model')
        batch_op.drop_constraint('uq_endpoints_name', type_='unique')
        batch_op.create_unique_constraint('uq_endpoints_workspace_name', ['workspace', 'name'])
        batch_op.create_index('ix_endpoints_workspace_model', ['workspace', 'model'], unique=False)

    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(_workspace())
        batch_op.drop_constraint('pk_agents', type_='primary')
        batch_op.create_primary_key('pk_agents', ['workspace', 'name'])

    with op.batch_alter_table('model_grants', schema=None) as batch_op:
        batch_op.add_column(_workspace())
        batch_op.drop_constraint('pk_model_grants', type_='primary')
        batch_op.create_primary_key('pk_model_grants', ['user_id', 'workspace', 'model'])

    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('workspace', sa.String(length=63), nullable=True))

    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(_workspace())
        batch_op.create_index('ix_webhooks_workspace', ['workspace'], unique=False)

    for table, old, new, columns in [
        ('traffic_samples', 'ix_traffic_samples_endpoint_version_time',
         'ix_traffic_samples_workspace_endpoint_version_time', ['endpoint', 'version', 'time']),
        ('alerts', 'ix_alerts_endpoint_state', 'ix_alerts_workspace_endpoint_state',
         ['endpoint', 'state']),
        ('prediction_logs', 'ix_prediction_logs_endpoint_last',
         'ix_prediction_logs_workspace_endpoint_last', ['endpoint', 'last_time']),
        ('feedback_logs', 'ix_feedback_logs_endpoint_hour',
         'ix_feedback_logs_workspace_endpoint_hour', ['endpoint', 'hour']),
    ]:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(_workspace())
            batch_op.drop_index(old)
            batch_op.create_index(new, ['workspace', *columns], unique=False)
    with op.batch_alter_table('prediction_ids', schema=None) as batch_op:
        batch_op.add_column(_workspace())
        batch_op.drop_index('ix_prediction_ids_endpoint_request')
        batch_op.drop_index('ix_prediction_ids_endpoint_id')
        batch_op.create_index('ix_prediction_ids_workspace_endpoint_request', ['workspace', 'endpoint', 'request_id'], unique=False)
        batch_op.create_index('ix_prediction_ids_workspace_endpoint_id', ['workspace', 'endpoint', 'id'], unique=False)


def downgrade() -> None:
    raise NotImplementedError("workspaces cannot be folded back into one namespace")
