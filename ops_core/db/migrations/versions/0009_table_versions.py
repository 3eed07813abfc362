"""table_versions: how often each table has been written, for caches kept until what they read changes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 06:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('table_versions',
                    sa.Column('name', sa.String(length=64), nullable=False),
                    sa.Column('version', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('name', name=op.f('pk_table_versions')))


def downgrade() -> None:
    op.drop_table('table_versions')
