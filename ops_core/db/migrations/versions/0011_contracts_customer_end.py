"""ix_contracts_customer_id_end_date: a customer's contracts by end date (renewal risk, the renewal rate)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:10:00
"""
from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_contracts_customer_id_end_date', 'contracts', ['customer_id', 'end_date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_contracts_customer_id_end_date', table_name='contracts')
