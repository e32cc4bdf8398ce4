"""The appointments part of a person's record (RGPD access right), registered with accueil.

Every appointment of the person's orientations, whoever recorded it: date, time, place, with
whom, what became of it, whether the person said they could not come, and the reminders sent to
them (when, by which channel). The token of the person's link is not part of it: it is a key,
not information about the person.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.accueil.records import register_export_section, user_names
from app.appointments.models import Appointment, AppointmentReminder
from app.appointments.presenters import PLACE_LABELS, STATUS_LABELS
from app.core.db import db
from app.directory.models import Structure
from app.orientation.models import Orientation

REMINDER_LABELS = {"before": _l("deux jours ouvrés avant"), "day": _l("le matin même")}
CHANNEL_LABELS = {"sms": _l("par SMS"), "email": _l("par courriel")}


def export_appointments(person: Any) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(Appointment, Structure.name)
        .join(Orientation, Orientation.id == Appointment.orientation_id)
        .join(Structure, Structure.id == Orientation.structure_id)
        .where(Orientation.person_id == person.id)
        .order_by(Appointment.scheduled_on, Appointment.scheduled_time, Appointment.created_at)
    ).all()
    if not rows:
        return []
    reminders: dict[Any, list[AppointmentReminder]] = {}
    for reminder in db.session.scalars(sa.select(AppointmentReminder).where(
            AppointmentReminder.appointment_id.in_([a.id for a, _ in rows]))
            .order_by(AppointmentReminder.queued_at)):
        reminders.setdefault(reminder.appointment_id, []).append(reminder)
    names = user_names({a.created_by_id for a, _ in rows} | {a.attendance_by_id for a, _ in rows})
    return [{
        "id": a.id,
        "orientation_id": a.orientation_id,
        "structure": structure,
        "scheduled_on": a.scheduled_on,
        "scheduled_time": a.scheduled_time.strftime("%H:%M") if a.scheduled_time else None,
        "place_kind": a.place_kind,
        "place": a.place_text,
        "with_whom": a.with_whom,
        "status": a.status,
        "created_at": a.created_at,
        "created_by": names.get(a.created_by_id) or a.created_by_label,
        "attendance_at": a.attendance_at,
        "attendance_by": names.get(a.attendance_by_id) or a.attendance_by_label,
        "rescheduled_to_id": a.rescheduled_to_id,
        "person_cannot_come_at": a.person_cannot_come_at,
        "reminders": [{"kind": r.kind, "channel": r.channel, "queued_at": r.queued_at}
                      for r in reminders.get(a.id, [])],
    } for a, structure in rows]


def register() -> None:
    """Appointments in the person's record (called by the feature's init_app)."""
    register_export_section("appointments", export_appointments, title=_l("Rendez-vous"),
                            template="appointments/_export.html",
                            context={"PLACE_LABELS": PLACE_LABELS, "STATUS_LABELS": STATUS_LABELS,
                                     "REMINDER_LABELS": REMINDER_LABELS,
                                     "CHANNEL_LABELS": CHANNEL_LABELS})
