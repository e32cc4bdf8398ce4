"""The stalled list's partial index, in order of due date; visits by person and date

Revision ID: 0011_indexes_stalls_visits
Revises: 0010_indexes
Create Date: 2026-11-23 18:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011_indexes_stalls_visits'
down_revision = '0010_indexes'
branch_labels = None
depends_on = None

DUE = "(CASE WHEN status = 'sent' THEN acknowledge_due ELSE take_charge_due END)"
WHERE = "status IN ('sent', 'acknowledged')"


def upgrade():
    op.create_index('ix_orientations_stall_due', 'orientations',
                    ['territory', sa.text(DUE), 'id'],
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))
    op.create_index('ix_visits_person_occurred_on', 'visits', ['person_id', 'occurred_on'])


def downgrade():
    op.drop_index('ix_visits_person_occurred_on', table_name='visits')
    op.drop_index('ix_orientations_stall_due', table_name='orientations')
