"""Who sees and records the appointments of an orientation.

The rules judge the orientation (an appointment is seen and recorded through its orientation):

* reading follows the orientation's visibility (``app.orientation.scopes.audience``), except that
  a structure left with a tombstone (refused, redirected away, cancelled) or still awaiting the
  person's consent sees none of its appointments;
* recording an appointment, its attendance, and what follows two missed ones: the partner
  structure's referents, while their structure sees the person (the same who act on the
  orientation, ``orientation.take_charge``). A structure without accounts does the same through
  its contact link (app/appointments/views.py, with the link's checks).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.appointments.models import Appointment
from app.core.db import db
from app.core.permissions import rule_for
from app.orientation.models import Orientation
from app.orientation.scopes import PARTNER, audience, partner_sees_person


def orientation_of(appointment: Appointment) -> Orientation:
    return db.session.get(Orientation, appointment.orientation_id)


def reader_audience(user: Any, orientation: Orientation) -> str | None:
    """How ``user`` sees the appointments of ``orientation`` (None: not at all)."""
    who = audience(user, orientation)
    if who == PARTNER and not partner_sees_person(orientation):
        return None
    return who


def appointments_of(orientation: Orientation) -> sa.Select:
    """The orientation's appointments, in date order (the caller checked the reading)."""
    return (sa.select(Appointment).where(Appointment.orientation_id == orientation.id)
            .order_by(Appointment.scheduled_on, Appointment.scheduled_time.is_(None),
                      Appointment.scheduled_time, Appointment.created_at))


@rule_for("appointment.read")
def _read(user: Any, orientation: Orientation) -> bool:
    return reader_audience(user, orientation) is not None


@rule_for("appointment.record")
@rule_for("appointment.attendance")
@rule_for("appointment.end_after_missed")
def _partner_records(user: Any, orientation: Orientation) -> bool:
    return reader_audience(user, orientation) == PARTNER
