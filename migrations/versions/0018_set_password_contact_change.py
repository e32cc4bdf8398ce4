"""One-time set-password links and confirmed structure contact addresses (review finding 4)

* ``password_set_tokens``: a link e-mailed to the account's own address when an administrator
  creates the account or resets its password; only the token's SHA-256 is stored.
* ``structure_contact_changes``: a contact address set by an administrator, waiting for its
  confirmation from that address; the structure keeps its confirmed address until then.

Revision ID: 0018_set_password_contact_change
Revises: 0017_oidc_identities
Create Date: 2026-12-04 14:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0018_set_password_contact_change'
down_revision = '0017_oidc_identities'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('password_set_tokens',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_password_set_tokens_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_set_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_set_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_set_tokens_token_hash'))
    )
    with op.batch_alter_table('password_set_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_set_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('structure_contact_changes',
    sa.Column('structure_id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('previous_email', sa.String(length=254), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_structure_contact_changes_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_structure_contact_changes_structure_id_structures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_structure_contact_changes')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_structure_contact_changes_token_hash'))
    )
    with op.batch_alter_table('structure_contact_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_structure_contact_changes_structure_id'), ['structure_id'], unique=False)


def downgrade():
    with op.batch_alter_table('structure_contact_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_structure_contact_changes_structure_id'))
    op.drop_table('structure_contact_changes')
    with op.batch_alter_table('password_set_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_set_tokens_user_id'))
    op.drop_table('password_set_tokens')
