"""accounts: users, refresh tokens, API keys, bot access settings, the audit log and its chain heads

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('bot_profiles') as batch:
        batch.add_column(sa.Column('allow_anonymous', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('allowed_origins', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('rate_limits', sa.JSON(), nullable=True))
    op.create_table(
        'users',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', sa.String(length=64), sa.ForeignKey('tenants.id', ondelete='CASCADE'), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('display_name', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('token_version', sa.Integer(), nullable=False),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('tenant_id', 'email', name='uq_user_tenant_email'),
    )
    op.create_index('ix_users_tenant_id', 'users', ['tenant_id'])
    op.create_table(
        'refresh_tokens',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', BigId, sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False, unique=True),
        sa.Column('family', sa.String(length=32), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_refresh_tokens_user_id', 'refresh_tokens', ['user_id'])
    op.create_index('ix_refresh_tokens_family', 'refresh_tokens', ['family'])
    op.create_table(
        'api_keys',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', sa.String(length=64), sa.ForeignKey('tenants.id', ondelete='CASCADE'), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False, unique=True),
        sa.Column('bot_name', sa.String(length=64), nullable=True),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_api_keys_tenant_id', 'api_keys', ['tenant_id'])
    op.create_table(
        'audit_log',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('action', sa.String(length=48), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.UniqueConstraint('tenant_id', 'seq', name='uq_audit_tenant_seq'),
    )
    op.create_table(
        'audit_heads',
        sa.Column('tenant_id', sa.String(length=64), primary_key=True),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('audit_heads')
    op.drop_table('audit_log')
    op.drop_index('ix_api_keys_tenant_id', 'api_keys')
    op.drop_table('api_keys')
    op.drop_index('ix_refresh_tokens_family', 'refresh_tokens')
    op.drop_index('ix_refresh_tokens_user_id', 'refresh_tokens')
    op.drop_table('refresh_tokens')
    op.drop_index('ix_users_tenant_id', 'users')
    op.drop_table('users')
    with op.batch_alter_table('bot_profiles') as batch:
        batch.drop_column('rate_limits')
        batch.drop_column('allowed_origins')
        batch.drop_column('allow_anonymous')
