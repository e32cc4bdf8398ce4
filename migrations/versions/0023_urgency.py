"""Urgent orientations: deadlines by domain, urgent needs (issue 24)

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
    pass


def downgrade():
    pass
