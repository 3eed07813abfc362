"""feedback history: every status change of a feedback item

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 16:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feedback_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.String(length=32), nullable=True),
    sa.Column('to_status', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], name=op.f('fk_feedback_history_feedback_id_feedback')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_history'))
    )
    with op.batch_alter_table('feedback_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_history_feedback_id'), ['feedback_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_history_feedback_id'))
    op.drop_table('feedback_history')
