"""The next appointment on the person's papers (the slip, the follow-up page): the finder that
orientation.next_appointment asks (registered from the feature's init_app, so that orientation
never imports appointments)."""

from __future__ import annotations

import sqlalchemy as sa

from app.appointments.models import SCHEDULED, Appointment
from app.core.db import db, utcnow
from app.orientation.deadlines import local_date
from app.orientation.models import Orientation
from app.orientation.next_appointment import NextAppointment


def next_for_person(orientation: Orientation) -> NextAppointment | None:
    """The first appointment still to come (scheduled, today or later): its date, time and
    place; by phone when the partner will call. None when none is to come."""
    row = db.session.scalars(
        sa.select(Appointment).where(
            Appointment.orientation_id == orientation.id, Appointment.status == SCHEDULED,
            Appointment.scheduled_on >= local_date(utcnow()))
        .order_by(Appointment.scheduled_on, Appointment.scheduled_time, Appointment.created_at)
        .limit(1)).first()
    if row is None:
        return None
    return NextAppointment(
        on=row.scheduled_on, at=row.scheduled_time, by_phone=row.place_kind == "phone",
        place=row.place_text if row.place_kind in ("address", "other") else None)
