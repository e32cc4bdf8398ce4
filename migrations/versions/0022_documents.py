"""The person's documents, encrypted, shared with consent (issue 20)

Revision ID: 0022_documents
Revises: 0021_appointments
Create Date: 2026-12-04 17:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0022_documents'
down_revision = '0021_appointments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('documents',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('storage', sa.String(length=20), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('filename', sa.Text(), nullable=True),
    sa.Column('data_key', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('identity', 'income', 'address', 'eviction', 'other')", name=op.f('ck_documents_kind')),
    sa.CheckConstraint("content_type IN ('application/pdf', 'image/jpeg', 'image/png')", name=op.f('ck_documents_content_type')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_documents_person_id_persons')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_documents_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_person_id'), ['person_id'], unique=False)

    op.create_table('document_blobs',
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_blobs'))
    )

    op.create_table('orientation_documents',
    sa.Column('orientation_id', sa.Uuid(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('shared_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['orientation_id'], ['orientations.id'], name=op.f('fk_orientation_documents_orientation_id_orientations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_orientation_documents_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orientation_documents')),
    sa.UniqueConstraint('orientation_id', 'document_id', name=op.f('uq_orientation_documents_orientation_id_document_id'))
    )
    with op.batch_alter_table('orientation_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orientation_documents_orientation_id'), ['orientation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orientation_documents_document_id'), ['document_id'], unique=False)


def downgrade():
    with op.batch_alter_table('orientation_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orientation_documents_document_id'))
        batch_op.drop_index(batch_op.f('ix_orientation_documents_orientation_id'))
    op.drop_table('orientation_documents')
    op.drop_table('document_blobs')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_person_id'))
    op.drop_table('documents')
