"""preset mappings: a preset keeps its category value tables (demand type -> 0..1) with its methods

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 18:15:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('weight_presets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mappings', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('weight_presets', schema=None) as batch_op:
        batch_op.drop_column('mappings')
