"""Model versions indexed by (model, stage, number): the newest version in each stage is then
found by a seek per stage, not by reading every version of the model

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from alembic import op


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the new index starts with the old one's columns, so it serves every query the old one did
    op.create_index(
        "ix_model_versions_model_stage_version",
        "model_versions",
        ["model_id", "stage", "version"],
        unique=False,
    )
    op.drop_index("ix_model_versions_model_stage", table_name="model_versions")


def downgrade() -> None:
    op.create_index(
        "ix_model_versions_model_stage", "model_versions", ["model_id", "stage"], unique=False
    )
    op.drop_index("ix_model_versions_model_stage_version", table_name="model_versions")
