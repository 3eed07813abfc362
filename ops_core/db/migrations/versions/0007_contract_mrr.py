"""contracts.unrounded_mrr: each contract's MRR by calendar months, a column the database generates

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 02:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ops_core.db.queries import contract_mrr

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    mrr = contract_mrr(sa.column("start_date"), sa.column("end_date"), sa.column("amount_cents"))
    # SQLite adds a stored generated column only by rebuilding the table (batch mode copies the rows).
    with op.batch_alter_table('contracts', schema=None, recreate='always' if op.get_context().dialect.name == 'sqlite'
                              else 'auto') as batch_op:
        batch_op.add_column(sa.Column('unrounded_mrr', sa.Float(), sa.Computed(mrr, persisted=True), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_column('unrounded_mrr')
