"""A structure's inbox read in order from an index; the stalled count as an index-only scan

At 1 M orientations (BENCHMARKS.md) the partner inbox sorted 25 000 rows of one structure for
each page (200 ms) and counting a territory's stalled orientations read 44 000 heap pages
(1.6 s): the inbox index gains ``sent_at``, and on PostgreSQL the stalled index carries the
columns of its due expression.

Revision ID: 0013_indexes_inbox_stall_count
Revises: 0012_outbox_body_encrypted
Create Date: 2026-11-23 20:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013_indexes_inbox_stall_count'
down_revision = '0012_outbox_body_encrypted'
branch_labels = None
depends_on = None

DUE = "(CASE WHEN status = 'sent' THEN acknowledge_due ELSE take_charge_due END)"
WHERE = "status IN ('sent', 'acknowledged')"


def _stall_index(include: list[str] | None) -> None:
    op.create_index('ix_orientations_stall_due', 'orientations',
                    ['territory', sa.text(DUE), 'id'],
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE),
                    postgresql_include=include or [])


def upgrade():
    op.create_index('ix_orientations_structure_status_sent', 'orientations',
                    ['structure_id', 'status', 'sent_at'])
    op.drop_index('ix_orientations_structure_status', table_name='orientations')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_orientations_stall_due', table_name='orientations')
        _stall_index(['status', 'acknowledge_due', 'take_charge_due'])


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_orientations_stall_due', table_name='orientations')
        _stall_index(None)
    op.create_index('ix_orientations_structure_status', 'orientations',
                    ['structure_id', 'status'])
    op.drop_index('ix_orientations_structure_status_sent', table_name='orientations')
