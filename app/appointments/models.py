"""Appointments of an orientation, the reminders queued for them, and their attendance."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Encrypted, Model, utcnow

# Where: one of the structure's addresses (its text kept with the appointment), by phone, or
# another place said in free text; NULL: not said (an appointment dated at the taking in charge).
PLACE_KINDS = ("address", "phone", "other")
SCHEDULED = "scheduled"
# What became of it: the person came, did not come, cancelled, or it was moved to a new one.
ATTENDANCES = ("came", "no_show", "cancelled_by_person", "rescheduled")
STATUSES = (SCHEDULED,) + ATTENDANCES
# Reminders to the person: two working days before, and on the morning of the appointment.
REMINDER_KINDS = ("before", "day")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Appointment(Model):
    __tablename__ = "appointments"
    __table_args__ = (
        sa.CheckConstraint(_in("status", STATUSES), name="status"),
        sa.CheckConstraint(f"place_kind IS NULL OR {_in('place_kind', PLACE_KINDS)}",
                           name="place_kind"),
        # The reminder run and the stalled list read the scheduled ones by date.
        sa.Index("ix_appointments_status_scheduled_on", "status", "scheduled_on"),
    )

    orientation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orientations.id", ondelete="CASCADE"), index=True)
    scheduled_on: Mapped[date]                       # the département's (Paris) date
    scheduled_time: Mapped[time | None] = mapped_column(sa.Time())  # Paris time, if said
    place_kind: Mapped[str | None] = mapped_column(sa.String(10))
    place_text = Encrypted()     # the address chosen, or the other place in the partner's words
    with_whom = Encrypted()      # the professional the person will meet
    status: Mapped[str] = mapped_column(sa.String(20), default=SCHEDULED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_by_label: Mapped[str | None] = mapped_column(sa.String(200))
    attendance_at: Mapped[datetime | None]
    attendance_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    attendance_by_label: Mapped[str | None] = mapped_column(sa.String(200))
    # A rescheduled appointment points to the one that replaces it.
    rescheduled_to_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("appointments.id", ondelete="SET NULL"))
    # The person said "Je ne peux pas venir" from the link of their reminder.
    person_cannot_come_at: Mapped[datetime | None]
    # The hash of the token of the person's link (derived from the id under the index key).
    person_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    version: Mapped[int] = mapped_column(default=1)

    @property
    def is_scheduled(self) -> bool:
        return self.status == SCHEDULED


class AppointmentReminder(Model):
    """One reminder queued to the person: at most one per appointment and kind, ever."""

    __tablename__ = "appointment_reminders"
    __table_args__ = (sa.UniqueConstraint("appointment_id", "kind"),
                      sa.CheckConstraint(_in("kind", REMINDER_KINDS), name="kind"))

    appointment_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("appointments.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(10))
    channel: Mapped[str] = mapped_column(sa.String(5))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
