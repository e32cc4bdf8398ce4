"""An outcome per need: answered on the spot, to orient, oriented (issue 24)

One visit can answer the health need on the spot and orient the housing need: the outcome
belongs to each need (``needs.outcome``: ``answered``, ``to_orient``, ``oriented``,
``pending``); the visit's outcome is kept, derived from its needs', for the API. Existing needs
take their visit's outcome: ``answered`` and ``pending`` as they are; a need of an ``oriented``
visit is ``oriented`` when an orientation of that visit was sent for its domain, else
``to_orient`` (it shows in the site's queue of needs waiting for an orientation).

Plain ADD COLUMN with its check constraint inline, on SQLite as on PostgreSQL (no batch
rebuild: the needs' triggers of 0015 and the rows pointing at visits stay as they are).

Revision ID: 0024_need_outcome
Revises: 0023_urgency
Create Date: 2026-12-04 17:10:00

"""
from alembic import op
import sqlalchemy as sa  # noqa: F401


revision = '0024_need_outcome'
down_revision = '0023_urgency'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE needs ADD COLUMN outcome VARCHAR(20) DEFAULT 'pending' NOT NULL "
               "CONSTRAINT ck_needs_outcome "
               "CHECK (outcome IN ('answered', 'to_orient', 'oriented', 'pending'))")
    op.execute("UPDATE needs SET outcome = (SELECT CASE "
               "WHEN v.outcome = 'answered' THEN 'answered' "
               "WHEN v.outcome = 'pending' THEN 'pending' "
               "WHEN EXISTS (SELECT 1 FROM orientations o WHERE o.visit_id = v.id "
               "AND o.domain = needs.domain) THEN 'oriented' "
               "ELSE 'to_orient' END FROM visits v WHERE v.id = needs.visit_id)")
    op.create_index('ix_needs_site_outcome', 'needs', ['site_id', 'outcome'], unique=False)


def downgrade():
    op.drop_index('ix_needs_site_outcome', table_name='needs')
    # A column's own check constraint goes with it, on SQLite (3.35+) as on PostgreSQL.
    op.execute("ALTER TABLE needs DROP COLUMN outcome")
