"""Appointment pages: the partner's actions on an orientation's page, the same through a
structure's contact link, and the person's page to say "Je ne peux pas venir"."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.appointments import services
from app.appointments.forms import (
    AppointmentForm,
    AttendanceForm,
    CannotComeForm,
    EndAfterMissedForm,
)
from app.appointments.models import Appointment
from app.appointments.scopes import orientation_of
from app.charter import services as charter
from app.core import audit
from app.core.db import db
from app.core.errors import NotFound, ServiceError
from app.core.permissions import access, public
from app.core.spine import act, get_visible_or_404, refuse
from app.directory.models import Structure
from app.orientation import contact
from app.orientation.models import Orientation
from app.orientation.scopes import partner_sees_person

bp = Blueprint("appointments", __name__, template_folder="templates")


def _page(orientation: Orientation) -> str:
    return url_for("orientation.show", orientation_id=orientation.id, _anchor="appointments-title")


def _orientation(orientation_id: uuid.UUID, permission: str) -> Orientation:
    return get_visible_or_404(Orientation, orientation_id, permission, read="appointment.read")


def _appointment(appointment_id: uuid.UUID, permission: str) -> Appointment:
    return get_visible_or_404(Appointment, appointment_id, permission, read="appointment.read",
                              subject=orientation_of)


# -- the partner, on the orientation's page ---------------------------------------------------
@bp.route("/orientations/<uuid:orientation_id>/appointments", methods=["POST"])
@access("appointment.record")
def record(orientation_id: uuid.UUID):
    orientation = _orientation(orientation_id, "appointment.record")
    return act(orientation, AppointmentForm(),
               lambda o, f: services.record_appointment(o, f.data_for_service(), current_user),
               _("Rendez-vous enregistré."), back=_page)


@bp.route("/appointments/<uuid:appointment_id>/attendance", methods=["POST"])
@access("appointment.attendance")
def attendance(appointment_id: uuid.UUID):
    appointment = _appointment(appointment_id, "appointment.attendance")
    return act(appointment, AttendanceForm(),
               lambda a, f: services.record_attendance(a, f.attendance.data, current_user,
                                                       new_appointment=f.new_appointment()),
               _("Présence au rendez-vous enregistrée."),
               back=lambda a: _page(orientation_of(a)))


@bp.route("/orientations/<uuid:orientation_id>/appointments/end", methods=["POST"])
@access("appointment.end_after_missed")
def end_after_missed(orientation_id: uuid.UUID):
    orientation = _orientation(orientation_id, "appointment.end_after_missed")
    return act(orientation, EndAfterMissedForm(),
               lambda o, f: services.end_after_missed(o, f.decision.data, current_user,
                                                      f.comment.data),
               _("C'est enregistré ; l'émetteur de l'orientation est prévenu."),
               back=lambda o: url_for("orientation.show", orientation_id=o.id))


# -- a structure without accounts, through its contact link -----------------------------------
def _contact_link(token: str):
    """The link of ``token`` when it may act (valid, code given, current charter accepted);
    else the answer to give."""
    if contact.opening_throttled(request.remote_addr):
        return None, (render_template("contact/neutral.html"), 429)
    link = contact.find_valid(token)
    if link is None:
        contact.record_bad_token(request.remote_addr)
        return None, (render_template("contact/neutral.html"), 404)
    if not contact.is_verified(session.get(f"contact:{link.id}")):
        return None, redirect(url_for("contact.open_link", token=token))
    current = charter.current_version()
    if current is not None and link.charter_version != current.version:
        return None, redirect(url_for("contact.orientation", token=token))
    return link, None


def _contact_act(token: str, form, run: Callable, message: str, action: str):
    link, answer = _contact_link(token)
    if answer is not None:
        return answer
    orientation = db.session.get(Orientation, link.orientation_id)
    back = url_for("contact.orientation", token=token, _anchor="appointments-title")
    if not partner_sees_person(orientation):  # the rule of the partner's pages and API
        flash(_("La personne n'a pas encore accepté que cette orientation vous soit transmise : "
                "aucun rendez-vous ne peut être enregistré pour le moment."), "error")
        return redirect(back)
    if not form.validate_on_submit():
        flash(next((m for f in form for m in f.errors), _("Formulaire incomplet.")), "error")
        return redirect(back)
    try:
        run(orientation, form, contact.actor_label(link))
        audit.record("orientation.contact_link_used", actor_kind="contact",
                     object_type="orientation", object_id=orientation.id,
                     person_id=orientation.person_id, details={"link": link.id, "action": action})
    except ServiceError as error:
        refuse(error)
        return redirect(back)
    flash(message, "success")
    db.session.refresh(link)
    if not contact.is_live(link):  # handed back: the link ended with the orientation
        return render_template("contact/done.html")
    return redirect(back)


@bp.route("/contact/<token>/appointments", methods=["POST"])
@public
def contact_record(token: str):
    return _contact_act(token, AppointmentForm(), lambda o, f, label: services.record_appointment(
        o, f.data_for_service(), None, actor_label=label),
        _("Rendez-vous enregistré."), "appointment")


@bp.route("/contact/<token>/appointments/<uuid:appointment_id>/attendance", methods=["POST"])
@public
def contact_attendance(token: str, appointment_id: uuid.UUID):
    def run(orientation, form, label):
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None or appointment.orientation_id != orientation.id:
            raise NotFound()
        return services.record_attendance(appointment, form.attendance.data, None,
                                          actor_label=label,
                                          new_appointment=form.new_appointment())

    return _contact_act(token, AttendanceForm(), run,
                        _("Présence au rendez-vous enregistrée."), "attendance")


@bp.route("/contact/<token>/appointments/end", methods=["POST"])
@public
def contact_end_after_missed(token: str):
    return _contact_act(token, EndAfterMissedForm(), lambda o, f, label: services.end_after_missed(
        o, f.decision.data, None, f.comment.data, actor_label=label),
        _("C'est enregistré ; l'émetteur de l'orientation est prévenu."), "end_after_missed")


# -- the person -------------------------------------------------------------------------------
@bp.route("/suivi/rendez-vous/<token>", methods=["GET", "POST"])
@public
def person_page(token: str):
    """The link of the person's reminders: the appointment (structure, date, place) and the
    button "Je ne peux pas venir". Nothing about the person; an unknown or old link is a 404."""
    appointment = services.by_person_token(token)
    if appointment is None:
        return render_template("appointments/person_unknown.html"), 404
    orientation = db.session.get(Orientation, appointment.orientation_id)
    if request.method == "GET":
        audit.record("appointment.person_viewed", actor_kind="person", object_type="appointment",
                     object_id=appointment.id, person_id=orientation.person_id)
    form = CannotComeForm()
    said = False
    if request.method == "POST" and form.validate_on_submit():
        said = services.person_cannot_come(appointment)
        if not said:
            flash(_("Ce rendez-vous ne peut plus être annulé ici : appelez la structure."), "error")
    structure = db.session.get(Structure, orientation.structure_id)
    return render_template(
        "appointments/person.html", appointment=appointment, structure=structure, form=form,
        when=services.describe_when(appointment), place=services.describe_place(appointment),
        may_say=services.person_may_say_cannot_come(appointment, orientation), said=said)
