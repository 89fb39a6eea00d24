"""bot profiles: hybrid-search fusion per bot (NULL: the settings' kb_fusion and weights)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 08:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bot_profiles') as batch:
        batch.add_column(sa.Column('kb_fusion', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('kb_keyword_weight', sa.Float(), nullable=True))
        batch.add_column(sa.Column('kb_vector_weight', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bot_profiles') as batch:
        batch.drop_column('kb_vector_weight')
        batch.drop_column('kb_keyword_weight')
        batch.drop_column('kb_fusion')
