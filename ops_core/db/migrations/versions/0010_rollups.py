"""mrr_changes, mrr_totals, mrr_segment_totals, usage_periods, usage_totals and rollup_pending: roll-ups the indicator queries read, kept current at commit

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 09:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ops_core.db import rollups

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mrr_changes',
                    sa.Column('customer_id', sa.Integer(), nullable=False),
                    sa.Column('product_line', sa.String(length=32), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('mrr_before', sa.BigInteger(), nullable=False),
                    sa.Column('mrr_after', sa.BigInteger(), nullable=False),
                    sa.Column('arr_before', sa.Float(), nullable=False),
                    sa.Column('arr_after', sa.Float(), nullable=False),
                    sa.Column('prev_day', sa.Date(), nullable=True),
                    sa.Column('next_day', sa.Date(), nullable=True),
                    sa.Column('industry', sa.String(length=32), nullable=False),
                    sa.Column('region', sa.String(length=32), nullable=False),
                    sa.Column('size_band', sa.String(length=32), nullable=False),
                    sa.Column('csm_id', sa.Integer(), nullable=True),
                    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                            name=op.f('fk_mrr_changes_customer_id_customers')),
                    sa.PrimaryKeyConstraint('customer_id', 'product_line', 'day', name=op.f('pk_mrr_changes')))
    op.create_index(op.f('ix_mrr_changes_day'), 'mrr_changes', ['day'], unique=False)
    op.create_table('usage_periods',
                    sa.Column('grain', sa.String(length=8), nullable=False),
                    sa.Column('period_start', sa.Date(), nullable=False),
                    sa.Column('customer_id', sa.Integer(), nullable=False),
                    sa.Column('period_end', sa.Date(), nullable=False),
                    sa.Column('user_days', sa.BigInteger(), nullable=False),
                    sa.Column('peak_users', sa.Integer(), nullable=False),
                    sa.Column('sessions', sa.BigInteger(), nullable=False),
                    sa.Column('page_views', sa.BigInteger(), nullable=False),
                    sa.Column('unique_visitors', sa.BigInteger(), nullable=False),
                    sa.Column('feature_events', sa.BigInteger(), nullable=False),
                    sa.Column('paying', sa.Boolean(), nullable=False),
                    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                            name=op.f('fk_usage_periods_customer_id_customers')),
                    sa.PrimaryKeyConstraint('grain', 'period_start', 'customer_id', name=op.f('pk_usage_periods')))
    op.create_index(op.f('ix_usage_periods_customer_id'), 'usage_periods', ['customer_id'], unique=False)
    op.create_table('mrr_totals',
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('mrr', sa.BigInteger(), nullable=False),
                    sa.Column('paying', sa.Integer(), nullable=False),
                    sa.Column('arr', sa.Float(), nullable=False),
                    sa.PrimaryKeyConstraint('day', name=op.f('pk_mrr_totals')))
    op.create_table('mrr_segment_totals',
                    sa.Column('dimension', sa.String(length=16), nullable=False),
                    sa.Column('value', sa.String(length=32), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('mrr', sa.BigInteger(), nullable=False),
                    sa.Column('paying', sa.Integer(), nullable=False),
                    sa.Column('arr', sa.Float(), nullable=False),
                    sa.PrimaryKeyConstraint('dimension', 'value', 'day', name=op.f('pk_mrr_segment_totals')))
    op.create_table('usage_totals',
                    sa.Column('grain', sa.String(length=8), nullable=False),
                    sa.Column('period_start', sa.Date(), nullable=False),
                    sa.Column('accounts', sa.Integer(), nullable=False),
                    sa.Column('user_days', sa.BigInteger(), nullable=False),
                    sa.Column('peak_users', sa.BigInteger(), nullable=False),
                    sa.Column('peaked', sa.Integer(), nullable=False),
                    sa.Column('days_per_peak', sa.Float(), nullable=False),
                    sa.Column('sessions', sa.BigInteger(), nullable=False),
                    sa.Column('page_views', sa.BigInteger(), nullable=False),
                    sa.Column('unique_visitors', sa.BigInteger(), nullable=False),
                    sa.Column('adopting', sa.Integer(), nullable=False),
                    sa.Column('paying', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('grain', 'period_start', name=op.f('pk_usage_totals')))
    op.create_table('rollup_pending',
                    sa.Column('customer_id', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_rollup_pending')))
    conn = op.get_bind()
    rollups.install_triggers(conn)
    rollups.rebuild(conn)  # a store with history gets its roll-ups now


def downgrade() -> None:
    rollups.drop_triggers(op.get_bind())
    op.drop_table('rollup_pending')
    op.drop_table('usage_totals')
    op.drop_table('mrr_segment_totals')
    op.drop_table('mrr_totals')
    op.drop_index(op.f('ix_usage_periods_customer_id'), table_name='usage_periods')
    op.drop_table('usage_periods')
    op.drop_index(op.f('ix_mrr_changes_day'), table_name='mrr_changes')
    op.drop_table('mrr_changes')
