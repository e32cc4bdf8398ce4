"""What appointments add to earlier features' pages, registered from the feature's init_app:
the appointments panel of an orientation's page (and of a structure's contact link page), and
the appointment actions of the person's access log."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.accueil.panels import Panel
from app.accueil.records import register_access_log_actions
from app.appointments import services
from app.appointments.forms import (
    AppointmentForm,
    AttendanceForm,
    EndAfterMissedForm,
    place_choices,
)
from app.appointments.models import Appointment
from app.appointments.presenters import ATTENDANCE_LABELS, PLACE_LABELS, STATUS_LABELS, appointment_view
from app.appointments.scopes import appointments_of, reader_audience
from app.core.db import db, utcnow
from app.core.permissions import can
from app.directory.models import Structure
from app.orientation.deadlines import local_date
from app.orientation.models import Orientation
from app.orientation.panels import register_orientation_panel
from app.orientation.scopes import PARTNER, partner_sees_person


def orientation_panel(orientation: Orientation, user: Any,
                      contact_token: str | None = None) -> Panel | None:
    """The appointments of the orientation, for whoever reads them; the partner's forms."""
    if contact_token is not None:
        who = PARTNER if partner_sees_person(orientation) else None
        may_record = who == PARTNER
    else:
        if not can(user, "appointment.read", orientation):
            return None
        who = reader_audience(user, orientation)
        may_record = can(user, "appointment.record", orientation)
    if who is None:
        return None
    rows: list[Appointment] = list(db.session.scalars(appointments_of(orientation)))
    if not rows and orientation.status not in services.RECORDABLE:
        return None
    recordable = may_record and orientation.status in services.RECORDABLE
    structure = db.session.get(Structure, orientation.structure_id)
    choices = place_choices(services.structure_addresses(structure))
    form = AppointmentForm()
    form.place_choice.choices = choices
    if choices and form.place_choice.data is None:
        form.place_choice.data = choices[0].value
    return Panel("appointments", "appointments/_panel.html", {
        "appointments": [appointment_view(a, who) for a in rows],
        "recordable": recordable, "form": form, "attendance_form": AttendanceForm(),
        "end_form": EndAfterMissedForm(), "place_choices": choices,
        "may_end": recordable and services.may_end_after_missed(orientation),
        "today": local_date(utcnow()), "token": contact_token,
        "PLACE_LABELS": PLACE_LABELS, "APPOINTMENT_STATUS": STATUS_LABELS,
        "ATTENDANCE_LABELS": ATTENDANCE_LABELS,
        "waiting_ack": may_record and orientation.status not in services.RECORDABLE
        and orientation.is_open})


def register() -> None:
    register_orientation_panel(orientation_panel)
    register_access_log_actions({
        "appointment.record": _l("Enregistrement d'un rendez-vous"),
        "appointment.attendance": _l("Présence à un rendez-vous"),
        "appointment.list": _l("Consultation des rendez-vous"),
        "appointment.reminder": _l("Rappel de rendez-vous envoyé à la personne"),
        "appointment.notice": _l("Rendez-vous communiqué à la personne"),
        "appointment.cannot_come": _l("La personne a prévenu qu'elle ne pourra pas venir"),
        "appointment.person_viewed": _l("Consultation du rendez-vous par la personne"),
        "orientation.close_missed": _l("Clôture après deux rendez-vous manqués"),
        "orientation.hand_back": _l("Orientation rendue à l'émetteur après deux rendez-vous manqués"),
    })


