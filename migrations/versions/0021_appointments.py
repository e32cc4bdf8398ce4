"""Appointments of an orientation, their reminders and attendance (issue 20)

Revision ID: 0021_appointments
Revises: 0020_oidc_revocations
Create Date: 2026-12-04 17:10:00

"""
import uuid
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0021_appointments'
down_revision = '0020_oidc_revocations'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('appointments',
    sa.Column('orientation_id', sa.Uuid(), nullable=False),
    sa.Column('scheduled_on', sa.Date(), nullable=False),
    sa.Column('scheduled_time', sa.Time(), nullable=True),
    sa.Column('place_kind', sa.String(length=10), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_label', sa.String(length=200), nullable=True),
    sa.Column('attendance_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attendance_by_id', sa.Uuid(), nullable=True),
    sa.Column('attendance_by_label', sa.String(length=200), nullable=True),
    sa.Column('rescheduled_to_id', sa.Uuid(), nullable=True),
    sa.Column('person_cannot_come_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('person_token_hash', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('place_text', sa.Text(), nullable=True),
    sa.Column('with_whom', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("place_kind IS NULL OR place_kind IN ('address', 'phone', 'other')", name=op.f('ck_appointments_place_kind')),
    sa.CheckConstraint("status IN ('scheduled', 'came', 'no_show', 'cancelled_by_person', 'rescheduled')", name=op.f('ck_appointments_status')),
    sa.ForeignKeyConstraint(['attendance_by_id'], ['users.id'], name=op.f('fk_appointments_attendance_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_appointments_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['orientation_id'], ['orientations.id'], name=op.f('fk_appointments_orientation_id_orientations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rescheduled_to_id'], ['appointments.id'], name=op.f('fk_appointments_rescheduled_to_id_appointments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')),
    sa.UniqueConstraint('person_token_hash', name=op.f('uq_appointments_person_token_hash'))
    )
    op.create_index(op.f('ix_appointments_orientation_id'), 'appointments', ['orientation_id'], unique=False)
    op.create_index('ix_appointments_status_scheduled_on', 'appointments', ['status', 'scheduled_on'], unique=False)
    op.create_table('appointment_reminders',
    sa.Column('appointment_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=5), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('before', 'day')", name=op.f('ck_appointment_reminders_kind')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_appointment_reminders_appointment_id_appointments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_reminders')),
    sa.UniqueConstraint('appointment_id', 'kind', name=op.f('uq_appointment_reminders_appointment_id_kind'))
    )
    # ``first_appointment_on`` is now derived from the appointments: each orientation that has
    # one gets its appointment (no time, no place: they were never recorded).
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, first_appointment_on FROM orientations "
        "WHERE first_appointment_on IS NOT NULL")).all()
    table = sa.table('appointments', sa.column('id', sa.Uuid()),
                     sa.column('orientation_id', sa.Uuid()), sa.column('scheduled_on', sa.Date()),
                     sa.column('status', sa.String()), sa.column('created_at', sa.DateTime(timezone=True)),
                     sa.column('version', sa.Integer()))
    now = datetime.now(timezone.utc)
    values = []
    for orientation_id, on in rows:
        if isinstance(orientation_id, str):  # SQLite through a plain query
            orientation_id = uuid.UUID(orientation_id)
        if isinstance(on, str):
            on = datetime.strptime(on[:10], "%Y-%m-%d").date()
        values.append({'id': uuid.uuid4(), 'orientation_id': orientation_id, 'scheduled_on': on,
                       'status': 'scheduled', 'created_at': now, 'version': 1})
    if values:
        op.bulk_insert(table, values)


def downgrade():
    op.drop_table('appointment_reminders')
    op.drop_index('ix_appointments_status_scheduled_on', table_name='appointments')
    op.drop_index(op.f('ix_appointments_orientation_id'), table_name='appointments')
    op.drop_table('appointments')
