"""Appointments of an orientation, their reminders and attendance (issue 20)

Revision ID: 0021_appointments
Revises: 0020_oidc_revocations
Create Date: 2026-12-04 17:10:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0021_appointments'
down_revision = '0020_oidc_revocations'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
