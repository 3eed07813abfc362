"""company lists: the company's own industries, regions and product lines, with English and Chinese labels

Seeded with the values the product had built in, plus "other" in each list; an admin adds and renames
values from then on (ops_core.company_lists). The seed is written out here, not read from the code, so
this revision creates the same rows whatever the code says later.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 23:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SEED: dict[str, tuple[tuple[str, str, str], ...]] = {
    'industry': (
        ('manufacturing', 'Manufacturing', '制造业'), ('construction', 'Construction', '建筑业'),
        ('logistics', 'Logistics', '物流'), ('energy', 'Energy', '能源'), ('retail', 'Retail', '零售'),
        ('healthcare', 'Healthcare', '医疗健康'), ('automotive', 'Automotive', '汽车'),
        ('chemicals', 'Chemicals', '化工'), ('electronics', 'Electronics', '电子'),
        ('food', 'Food & beverage', '食品饮料'), ('other', 'Other', '其他'),
    ),
    'region': (
        ('east_china', 'East China', '华东'), ('north_china', 'North China', '华北'),
        ('south_china', 'South China', '华南'), ('central_china', 'Central China', '华中'),
        ('southwest_china', 'Southwest China', '西南'), ('northwest_china', 'Northwest China', '西北'),
        ('northeast_china', 'Northeast China', '东北'), ('overseas', 'Overseas', '海外'), ('other', 'Other', '其他'),
    ),
    'product_line': (
        ('MES', 'MES', 'MES'), ('EAM', 'EAM', 'EAM'), ('SCM', 'SCM', 'SCM'), ('QMS', 'QMS', 'QMS'),
        ('IoT', 'IoT', '物联网'), ('other', 'Other', '其他'),
    ),
}


def upgrade() -> None:
    table = op.create_table('company_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_name', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('label_en', sa.String(length=128), nullable=False),
    sa.Column('label_zh', sa.String(length=128), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_lists')),
    sa.UniqueConstraint('list_name', 'code', name=op.f('uq_company_lists_list_name'))
    )
    op.bulk_insert(table, [
        {'list_name': name, 'code': code, 'label_en': en, 'label_zh': zh, 'position': position, 'version': 1}
        for name, rows in SEED.items() for position, (code, en, zh) in enumerate(rows, start=1)
    ])


def downgrade() -> None:
    op.drop_table('company_lists')
