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
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('siret', sa.String(length=14), nullable=True))
        batch_op.create_index(batch_op.f('ix_structures_siret'), ['siret'], unique=False)


def downgrade():
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_structures_siret'))
        batch_op.drop_column('siret')
