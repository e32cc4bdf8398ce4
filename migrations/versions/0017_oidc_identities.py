"""Single sign-on: accounts' identities at OpenID Connect providers, and "SSO only" accounts

An account is linked to a provider's ``(issuer, subject)`` at its first single sign-on (by the
provider's verified e-mail); ``users.sso_only`` makes the password login refuse the account.

Revision ID: 0017_oidc_identities
Revises: 0016_orientation_consent_scope
Create Date: 2026-12-04 14:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0017_oidc_identities'
down_revision = '0016_orientation_consent_scope'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sso_only', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.create_table('oidc_identities',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('idp_id', sa.String(length=200), nullable=True),
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_oidc_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_identities')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_oidc_identities_issuer_subject')),
    sa.UniqueConstraint('user_id', 'issuer', name=op.f('uq_oidc_identities_user_id_issuer'))
    )
    with op.batch_alter_table('oidc_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_identities_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('oidc_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_identities_user_id'))
    op.drop_table('oidc_identities')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('sso_only')
