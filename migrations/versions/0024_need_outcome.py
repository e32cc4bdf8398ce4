"""An outcome per need: answered on the spot, to orient, oriented (issue 24)

Revision ID: 0024_need_outcome
Revises: 0023_urgency
Create Date: 2026-12-04 17:10:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0024_need_outcome'
down_revision = '0023_urgency'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
