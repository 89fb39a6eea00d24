"""answer policy: bot generation/clarify/service hours, session state and hand-off, matcher labels

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 18:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bot_profiles') as batch:
        batch.add_column(sa.Column('generation', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('clarify_threshold', sa.Float(), nullable=True))
        batch.add_column(sa.Column('service_hours', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('handoff_phone', sa.String(length=64), nullable=True))
    with op.batch_alter_table('sessions') as batch:
        batch.add_column(sa.Column('state', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('handoff_reason', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('pending_since', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'match_labels',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True, autoincrement=True),
        sa.Column('tenant_id', sa.String(length=64), sa.ForeignKey('tenants.id', ondelete='CASCADE'), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('faq_key', sa.String(length=128), nullable=False),
        sa.Column('label', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_match_labels_tenant_id', 'match_labels', ['tenant_id'])


def downgrade() -> None:
    op.drop_index('ix_match_labels_tenant_id', 'match_labels')
    op.drop_table('match_labels')
    with op.batch_alter_table('sessions') as batch:
        batch.drop_column('pending_since')
        batch.drop_column('handoff_reason')
        batch.drop_column('state')
    with op.batch_alter_table('bot_profiles') as batch:
        batch.drop_column('handoff_phone')
        batch.drop_column('service_hours')
        batch.drop_column('clarify_threshold')
        batch.drop_column('generation')
