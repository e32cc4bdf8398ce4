"""Appointments of an orientation: list, record, attendance, and what follows two missed ones."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import fields, validate

from app.api.base import Blueprint, StrictSchema
from app.api.orientations import MAX_PER_PAGE, OrientationSchema
from app.appointments import services
from app.appointments.models import ATTENDANCES, PLACE_KINDS, Appointment
from app.appointments.presenters import appointment_view, without_outcome_views
from app.appointments.scopes import appointments_of, orientation_of, reader_audience
from app.core import audit
from app.core.db import db
from app.core.errors import Forbidden
from app.core.permissions import access
from app.core.spine import get_visible_or_404
from app.orientation.models import Orientation
from app.orientation.presenters import orientation_view
from app.orientation.scopes import visible_orientations

blp = Blueprint("api_appointments", __name__, url_prefix="/api/v1", description="Appointments")


class SlotSchema(StrictSchema):
    scheduled_on = fields.String(required=True, metadata={
        "format": "date", "description": "not before the orientation was sent; a past date is "
                                         "accepted (then `attendance` may be given at once)"})
    scheduled_time = fields.String(allow_none=True, metadata={"description": "HH:MM, Paris time",
                                                              "example": "14:30"})
    place_kind = fields.String(required=True, metadata={"enum": list(PLACE_KINDS)})
    place = fields.String(allow_none=True, metadata={
        "description": "`address`: one of the structure's addresses (default: its first); "
                       "`other`: the place in words (required); `phone`: ignored"})
    with_whom = fields.String(allow_none=True)


class AppointmentInSchema(SlotSchema):
    attendance = fields.String(allow_none=True, metadata={
        "enum": [a for a in ATTENDANCES if a != "rescheduled"],
        "description": "for an appointment already passed (or cancelled by the person)"})


class AttendanceInSchema(StrictSchema):
    attendance = fields.String(required=True, metadata={"enum": list(ATTENDANCES)})
    new_appointment = fields.Nested(SlotSchema, allow_none=True, metadata={
        "description": "required with `rescheduled`: the new appointment, linked"})


class EndAfterMissedSchema(StrictSchema):
    decision = fields.String(required=True, metadata={"enum": list(services.END_DECISIONS)})
    comment = fields.String(allow_none=True)


class AppointmentSchema(StrictSchema):
    id = fields.UUID()
    orientation_id = fields.UUID()
    scheduled_on = fields.Date()
    scheduled_time = fields.String(allow_none=True)
    place_kind = fields.String(allow_none=True, metadata={"enum": list(PLACE_KINDS)})
    place = fields.String(allow_none=True, metadata={"description": "null for a coordinator"})
    with_whom = fields.String(allow_none=True, metadata={"description": "null for a coordinator"})
    status = fields.String(metadata={"enum": ["scheduled", *ATTENDANCES]})
    attendance_at = fields.DateTime(allow_none=True)
    rescheduled_to_id = fields.UUID(allow_none=True)
    person_cannot_come_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the person said, from their reminder's link, they cannot come"})
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)


class StalledQuerySchema(StrictSchema):
    territory = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class WithoutOutcomeSchema(StrictSchema):
    id = fields.UUID(metadata={"description": "the appointment"})
    orientation_id = fields.UUID()
    scheduled_on = fields.Date()
    scheduled_time = fields.String(allow_none=True, metadata={"description": "HH:MM, Paris time"})
    working_days_since = fields.Integer(metadata={
        "description": "working days since the appointment's date"})
    orientation_status = fields.String(metadata={"enum": [s.value for s in services.RECORDABLE]})
    domain = fields.String()
    urgent = fields.Boolean()
    structure = fields.Dict(metadata={"description": "`{id, name}`"})
    person = fields.Dict(allow_none=True, metadata={
        "description": "`{reception_number, initials}`"})


def _orientation(orientation_id, permission: str) -> Orientation:
    return get_visible_or_404(Orientation, orientation_id, permission, read="appointment.read")


def _view(appointment: Appointment) -> dict:
    return appointment_view(appointment, reader_audience(current_user, orientation_of(appointment)))


@blp.route("/orientations/<uuid:orientation_id>/appointments", methods=["GET"])
@access("appointment.read")
@blp.response(200, AppointmentSchema(many=True))
def list_appointments(orientation_id):
    """The orientation's appointments, in date order (reading follows the orientation's)."""
    orientation = _orientation(orientation_id, "appointment.read")
    rows = list(db.session.scalars(appointments_of(orientation)))
    audit.record("appointment.list", actor=current_user, object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id)
    who = reader_audience(current_user, orientation)
    return [appointment_view(a, who) for a in rows]


@blp.route("/orientations/<uuid:orientation_id>/appointments", methods=["POST"])
@access("appointment.record")
@blp.arguments(AppointmentInSchema)
@blp.response(201, AppointmentSchema)
def record_appointment(body, orientation_id):
    """The partner records an appointment (once the orientation is acknowledged, while it is
    in progress); 422 for a date before the orientation was sent."""
    orientation = _orientation(orientation_id, "appointment.record")
    appointment = services.record_appointment(orientation, body, current_user)
    return _view(appointment)


@blp.route("/appointments/<uuid:appointment_id>/attendance", methods=["POST"])
@access("appointment.attendance")
@blp.arguments(AttendanceInSchema)
@blp.response(200, AppointmentSchema)
def record_attendance(body, appointment_id):
    """What became of the appointment: `came`, `no_show`, `cancelled_by_person`, or
    `rescheduled` with `new_appointment` (its id is `rescheduled_to_id`); 409 once recorded."""
    appointment = get_visible_or_404(Appointment, appointment_id, "appointment.attendance",
                                     read="appointment.read", subject=orientation_of)
    services.record_attendance(appointment, body["attendance"], current_user,
                               new_appointment=body.get("new_appointment"))
    return _view(appointment)


@blp.route("/orientations/<uuid:orientation_id>/after-missed-appointments", methods=["POST"])
@access("appointment.end_after_missed")
@blp.arguments(EndAfterMissedSchema)
@blp.response(200, OrientationSchema)
def end_after_missed(body, orientation_id):
    """After two missed appointments: `close` the orientation for that reason, or `hand_back`
    to the sender (status `refused`, `refusal_code` `missed_appointments`; the sender is told).
    409 `conflict` before two missed appointments."""
    orientation = _orientation(orientation_id, "appointment.end_after_missed")
    services.end_after_missed(orientation, body["decision"], current_user, body.get("comment"))
    db.session.flush()
    return orientation_view(orientation, current_user)


@blp.route("/appointments/stalled", methods=["GET"])
@access("orientation.stalled")
@blp.arguments(StalledQuerySchema, location="query")
@blp.response(200, WithoutOutcomeSchema(many=True))
def stalled(args):
    """Coordinators: the appointments of their territory's orientations in progress, passed
    for more than two working days without an outcome (the structure did not say whether the
    person came), oldest first, as on the stalled page; paginated with ``page`` and
    ``per_page``, the total in ``X-Total-Count``. No place nor with whom."""
    territory = args.get("territory")
    if territory and territory != current_user.territory:
        raise Forbidden(_("Vous ne suivez que votre territoire."))
    rows, total = services.without_outcome_page(visible_orientations(current_user),
                                                limit=args["per_page"],
                                                offset=(args["page"] - 1) * args["per_page"])
    return without_outcome_views(rows), {"X-Total-Count": str(total)}
