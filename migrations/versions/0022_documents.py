"""The person's documents, encrypted, shared with consent (issue 20)

Revision ID: 0022_documents
Revises: 0021_appointments
Create Date: 2026-12-04 17:10:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0022_documents'
down_revision = '0021_appointments'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
