"""Urgent orientations: deadlines by domain, urgent needs (issue 24)

An orientation made from an urgent need is urgent (``orientations.urgent``): its deadlines are
counted on the urgent clock (``PASSERELLE_URGENT_DEADLINES``), it carries a badge and comes first
in every list. Existing orientations whose visit's need of the same domain was urgent are marked
urgent; their due dates stay as they were computed.

The coordinator's home counts the break-the-glass accesses nobody reviewed yet: a grant gets
``reviewed_at`` when a coordinator marks it checked (who: the audit entry). Existing grants
count as not reviewed.

Revision ID: 0023_urgency
Revises: 0022_documents
Create Date: 2026-12-04 17:10:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0023_urgency'
down_revision = '0022_documents'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch rebuild: rows of other tables point at orientations).
    op.add_column('orientations', sa.Column('urgent', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.execute("UPDATE orientations SET urgent = true WHERE visit_id IS NOT NULL AND EXISTS ("
               "SELECT 1 FROM needs n WHERE n.visit_id = orientations.visit_id "
               "AND n.domain = orientations.domain AND n.urgency = 'urgent')")
    op.add_column('break_glass_accesses', sa.Column('reviewed_at', sa.DateTime(timezone=True),
                                                    nullable=True))


def downgrade():
    op.drop_column('break_glass_accesses', 'reviewed_at')
    op.drop_column('orientations', 'urgent')
