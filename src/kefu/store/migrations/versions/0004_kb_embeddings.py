"""kb embeddings: a content-addressed cache of the embedding model's vectors

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 04:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_embeddings',
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('text_hash', sa.String(length=40), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('model', 'kind', 'text_hash')
    )


def downgrade() -> None:
    op.drop_table('kb_embeddings')
