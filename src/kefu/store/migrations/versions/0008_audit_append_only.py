"""audit_log append-only in the database: triggers refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL)

The hash chain (store/audit.py) detects tampering after the fact; these triggers stop it from the application's
own connection, whatever the operator granted it. audit_heads stays updatable: every append moves its head.
On SQLite a later batch migration that rebuilds audit_log drops these triggers with the old table: recreate them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00.000000
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

PG_UP = [
    """
    CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
    """,
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
]
SQLITE_UP = [
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
    "DROP TRIGGER IF EXISTS audit_log_no_update",
]


def _run(pg: list[str], sqlite: list[str]) -> None:
    name = op.get_bind().dialect.name
    statements = pg if name == 'postgresql' else sqlite if name == 'sqlite' else []
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    _run(PG_UP, SQLITE_UP)


def downgrade() -> None:
    _run(PG_DOWN, SQLITE_DOWN)
