"""Single sign-on identities detached by an administrator: not linked again by e-mail

Revision ID: 0020_oidc_revocations
Revises: 0019_structure_siret
Create Date: 2026-12-04 15:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0020_oidc_revocations'
down_revision = '0019_structure_siret'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('oidc_revocations',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_oidc_revocations_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_oidc_revocations_revoked_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_revocations')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_oidc_revocations_issuer_subject'))
    )
    with op.batch_alter_table('oidc_revocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_revocations_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('oidc_revocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_revocations_user_id'))
    op.drop_table('oidc_revocations')
