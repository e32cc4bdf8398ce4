"""Access follows the state of the orientation: the needs the person chose to share, whether they
accept a redirect, and when the orientation ended

* ``shared_needs``: the domains of the visit's needs the person agreed to share (one need per
  domain). Existing orientations that shared "needs" shared every need of the visit; they now
  share the need of the oriented domain only, the default of the consent step.
* ``accepts_redirect``: recorded at consent, false by default (and for existing orientations):
  a redirect the person did not accept reaches the new structure without personal data until
  the sender re-confirms.
* ``ended_at``: when the orientation left the open statuses, for the tombstone the old
  structure keeps ("annulée le …"); filled from the last transition event.

Revision ID: 0016_orientation_consent_scope
Revises: 0015_indicator_columns
Create Date: 2026-12-04 14:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0016_orientation_consent_scope'
down_revision = '0015_indicator_columns'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table rebuild on SQLite, which would lose the partial indexes); the
    # server defaults stay, for rows written by older code during a rolling upgrade.
    op.add_column('orientations', sa.Column('shared_needs', sa.String(length=200),
                                            nullable=False, server_default=''))
    op.add_column('orientations', sa.Column('accepts_redirect', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.add_column('orientations', sa.Column('ended_at', sa.DateTime(timezone=True),
                                            nullable=True))
    op.execute("UPDATE orientations SET shared_needs = domain "
               "WHERE ',' || shared_fields || ',' LIKE '%,needs,%'")
    op.execute("UPDATE orientations SET ended_at = ("
               "SELECT max(e.at) FROM orientation_events e WHERE e.orientation_id = orientations.id"
               " AND e.kind = 'transition' AND e.to_status = orientations.status) "
               "WHERE status IN ('closed', 'refused', 'redirected', 'cancelled')")
    op.execute("UPDATE orientations SET ended_at = coalesce(closed_at, updated_at) "
               "WHERE ended_at IS NULL AND status IN ('closed', 'refused', 'redirected', 'cancelled')")


def downgrade():
    op.drop_column('orientations', 'ended_at')
    op.drop_column('orientations', 'accepts_redirect')
    op.drop_column('orientations', 'shared_needs')
