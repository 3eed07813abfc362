"""payment reference: a payment's own receipt number, its business key in files

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 04:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: payments stored before this revision have no receipt number.
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_payments_reference'), ['reference'])


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_payments_reference'), type_='unique')
        batch_op.drop_column('reference')
