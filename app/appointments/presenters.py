"""What each audience sees of an appointment (API and pages share this view)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.appointments.models import Appointment
from app.orientation.scopes import COORDINATION

PLACE_LABELS = {"address": _l("À l'adresse de la structure"), "phone": _l("Par téléphone"),
                "other": _l("Autre lieu")}
STATUS_LABELS = {"scheduled": _l("Prévu"), "came": _l("Venue"), "no_show": _l("Pas venue"),
                 "cancelled_by_person": _l("Annulé par la personne"),
                 "rescheduled": _l("Reporté")}
ATTENDANCE_LABELS = {"came": _l("La personne est venue"),
                     "no_show": _l("La personne n'est pas venue"),
                     "cancelled_by_person": _l("La personne a annulé"),
                     "rescheduled": _l("Rendez-vous reporté (nouvelle date)")}


def appointment_view(appointment: Appointment, who: str | None) -> dict[str, Any]:
    """The appointment for ``who`` (an audience of app.orientation.scopes; None: the partner's
    contact link). A coordinator sees dates and attendance, not the free texts."""
    free_text = who != COORDINATION
    return {
        "id": appointment.id, "orientation_id": appointment.orientation_id,
        "scheduled_on": appointment.scheduled_on,
        "scheduled_time": (appointment.scheduled_time.strftime("%H:%M")
                           if appointment.scheduled_time else None),
        "place_kind": appointment.place_kind,
        "place": appointment.place_text if free_text else None,
        "with_whom": appointment.with_whom if free_text else None,
        "status": appointment.status,
        "attendance_at": appointment.attendance_at,
        "rescheduled_to_id": appointment.rescheduled_to_id,
        "person_cannot_come_at": appointment.person_cannot_come_at,
        "created_at": appointment.created_at,
        "created_by": appointment.created_by_label,
    }
