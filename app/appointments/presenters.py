"""What each audience sees of an appointment (API and pages share this view)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.accueil.models import Person
from app.appointments.models import Appointment
from app.core.db import load_many
from app.directory.models import Structure
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


def without_outcome_views(rows: list[Any]) -> list[dict[str, Any]]:
    """Appointments passed without an outcome (``services.without_outcome_page``) as the
    coordinators' list shows them: dates, the structure, the person's reception number and
    initials; none of the free texts. Three queries, whatever the page's length."""
    persons = {p.id: p for p in load_many(Person, {w.orientation.person_id for w in rows})}
    structures = {s.id: s for s in load_many(Structure, {w.orientation.structure_id
                                                         for w in rows})}
    views = []
    for w in rows:
        person = persons.get(w.orientation.person_id)
        structure = structures[w.orientation.structure_id]
        views.append({
            "id": w.appointment.id, "orientation_id": w.orientation.id,
            "scheduled_on": w.appointment.scheduled_on,
            "scheduled_time": (w.appointment.scheduled_time.strftime("%H:%M")
                               if w.appointment.scheduled_time else None),
            "working_days_since": w.working_days,
            "orientation_status": w.orientation.status, "domain": w.orientation.domain,
            "urgent": w.orientation.urgent,
            "structure": {"id": structure.id, "name": structure.name},
            "person": {"reception_number": person.reception_number,
                       "initials": person.initials} if person else None})
    return views
