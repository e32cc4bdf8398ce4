"""PostgreSQL: the audit table refuses TRUNCATE too (the row trigger only sees UPDATE and DELETE)

Revision ID: 0014_audit_no_truncate
Revises: 0013_indexes_inbox_stall_count
Create Date: 2026-11-23 21:00:00

"""
from alembic import op


revision = '0014_audit_no_truncate'
down_revision = '0013_indexes_inbox_stall_count'
branch_labels = None
depends_on = None

TRIGGER = """
CREATE TRIGGER audit_entries_no_truncate
    BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only();
"""


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_entries_no_truncate ON audit_entries")
