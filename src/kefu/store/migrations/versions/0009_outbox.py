"""outbox: slow side effects (hand-off notices, webhooks, tickets) written with what caused them, delivered later

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'outbox',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=48), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False, unique=True),
    )
    op.create_index('ix_outbox_status_available', 'outbox', ['status', 'available_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_status_available', 'outbox')
    op.drop_table('outbox')
