"""The stalled list's page read in its order, urgent ones first

Since urgent orientations come first in every list (issue 24), the stalled page's order
(``urgent DESC``, due date, id) matched no index: PostgreSQL read and sorted every stalled
orientation of the territory for each page, 800 ms at 1 M persons (BENCHMARKS.md, issue 21).
``ix_orientations_stall_due`` stays for the count, an index-only scan of the overdue ones.

Revision ID: 0025_index_stall_urgent
Revises: 0024_need_outcome
Create Date: 2026-12-04 21:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0025_index_stall_urgent'
down_revision = '0024_need_outcome'
branch_labels = None
depends_on = None

DUE = "(CASE WHEN status = 'sent' THEN acknowledge_due ELSE take_charge_due END)"
WHERE = "status IN ('sent', 'acknowledged')"


def upgrade():
    op.create_index('ix_orientations_stall_urgent_due', 'orientations',
                    ['territory', sa.text('urgent DESC'), sa.text(DUE), 'id'],
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))


def downgrade():
    op.drop_index('ix_orientations_stall_urgent_due', table_name='orientations')
