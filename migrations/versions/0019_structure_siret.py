"""Structures' SIRET (14 digits, not unique), compared with a single sign-on's ``siret`` claim

Filled by the data·inclusion import when the record has one, or by an administrator.

Revision ID: 0019_structure_siret
Revises: 0018_set_password_contact_change
Create Date: 2026-12-04 15:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0019_structure_siret'
down_revision = '0018_set_password_contact_change'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN: a batch rebuild of structures on SQLite drops the table, which its
    # foreign keys refuse once rows point at it (a database with data).
    op.add_column('structures', sa.Column('siret', sa.String(length=14), nullable=True))
    op.create_index(op.f('ix_structures_siret'), 'structures', ['siret'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_structures_siret'), table_name='structures')
    op.drop_column('structures', 'siret')
