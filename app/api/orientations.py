"""Orientations: send, list, read, and the state machine's actions; the directory's referents."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import fields, validate

from app.accueil.models import Person
from app.accueil.scopes import FULL, visible_fields
from app.api.base import Blueprint, StrictSchema
from app.core import audit
from app.core.db import db, page_of
from app.core.enums import Domain
from app.core.errors import Forbidden, ValidationFailed
from app.core.permissions import access
from app.core.spine import get_visible_or_404
from app.orientation import reminders, services
from app.orientation.models import Orientation
from app.orientation.presenters import orientation_view, preload
from app.orientation.scopes import (
    audience,
    filter_orientations,
    newest_first,
    orientations_of_person,
    visible_orientations,
)
from app.orientation.status import STATUSES

blp = Blueprint("api_orientations", __name__, url_prefix="/api/v1", description="Orientation")
MAX_PER_PAGE = 100
DOMAINS = tuple(d.value for d in Domain)


class ConsentSchema(StrictSchema):
    given = fields.Boolean(required=True)
    shared_fields = fields.List(fields.String(), load_default=list)
    shared_needs = fields.List(fields.String(), allow_none=True, metadata={
        "description": "domains of the visit's needs the person shares (one need per domain); "
                       "absent: the need of the oriented domain, if `needs` is a shared field"})
    accepts_redirect = fields.Boolean(load_default=False, metadata={
        "description": "the person accepts that another structure receives the orientation "
                       "if this one redirects it; if not, a redirect reaches the new structure "
                       "without personal data until the sender confirms the consent again"})
    purpose = fields.String(allow_none=True)
    shared_documents = fields.List(fields.String(), allow_none=True, metadata={
        "description": "ids of the person's documents the structure may download (the person "
                       "chooses them one by one); absent: none"})


class OrientationInSchema(StrictSchema):
    person_id = fields.UUID(required=True)
    structure_id = fields.String(required=True, metadata={"format": "uuid"})
    domain = fields.String(required=True)
    motive = fields.String(required=True)
    visit_id = fields.String(allow_none=True, metadata={"format": "uuid"})
    referent_id = fields.String(allow_none=True, metadata={"format": "uuid"})
    coverage_override = fields.String(allow_none=True)
    consent = fields.Nested(ConsentSchema, required=True)
    urgent = fields.Boolean(allow_none=True, metadata={
        "description": "an urgent orientation (short deadlines, PASSERELLE_URGENT_DEADLINES); "
                       "absent or null: urgent when the visit's need of this domain is urgent"})


class EventSchema(StrictSchema):
    at = fields.DateTime()
    kind = fields.String()
    actor = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class OrientationSchema(StrictSchema):
    id = fields.UUID()
    person_id = fields.UUID(allow_none=True, metadata={"description": "null in a tombstone"})
    structure_id = fields.UUID()
    structure = fields.Dict()
    domain = fields.String()
    urgent = fields.Boolean(metadata={
        "description": "made from an urgent need: deadlines on the urgent clock"})
    status = fields.String()
    visit_id = fields.UUID(allow_none=True)
    motive = fields.String(allow_none=True)
    consent = fields.Dict()
    sent_at = fields.DateTime()
    acknowledge_due = fields.Date()
    take_charge_due = fields.Date()
    acknowledged_at = fields.DateTime(allow_none=True)
    taken_charge_at = fields.DateTime(allow_none=True)
    first_appointment_on = fields.Date(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True, metadata={
        "description": "when it was closed, refused, redirected or cancelled"})
    tombstone = fields.Boolean(metadata={
        "description": "refused, redirected away or cancelled, seen by its structure: status "
                       "and dates only, nothing of the person"})
    referent = fields.Dict(allow_none=True)
    redirected_to_id = fields.UUID(allow_none=True)
    redirected_from_id = fields.UUID(allow_none=True)
    refusal_code = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    person = fields.Dict(allow_none=True, metadata={
        "description": "null in a tombstone and while a redirect awaits the person's consent"})
    needs = fields.List(fields.Dict())
    events = fields.List(fields.Nested(EventSchema))


class ListQuerySchema(StrictSchema):
    status = fields.String()
    domain = fields.String()
    structure_id = fields.UUID()
    person_id = fields.UUID()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class TakeChargeSchema(StrictSchema):
    first_appointment_on = fields.Date(allow_none=True)


class ReasonSchema(StrictSchema):
    reason = fields.String(required=True)
    reason_code = fields.String(allow_none=True)


class RedirectSchema(StrictSchema):
    structure_id = fields.String(required=True, metadata={"format": "uuid"})
    reason = fields.String(required=True)


class CloseSchema(StrictSchema):
    outcome = fields.String(required=True)


class StalledQuerySchema(StrictSchema):
    territory = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class StalledSchema(StrictSchema):
    id = fields.UUID()
    status = fields.String()
    stalled_since = fields.Date()
    overdue_working_days = fields.Integer()
    age_days = fields.Integer(metadata={"description": "calendar days since it was sent"})
    structure = fields.Dict()
    reason = fields.String()
    domain = fields.String()
    urgent = fields.Boolean()
    person = fields.Dict()
    reminders_sent = fields.Integer()


def _load(orientation_id: uuid.UUID, permission: str) -> Orientation:
    # The orientation and its person in one statement (issue 21): the access rules and the view
    # read both. The person is kept for the request (as load_many does), so the loader's
    # ``session.get`` calls find them; nothing of it is shown before the rules have judged.
    row = db.session.execute(
        sa.select(Orientation, Person).outerjoin(Person, Person.id == Orientation.person_id)
        .where(Orientation.id == orientation_id)).first()
    if row is not None and row[1] is not None:
        db.session.info.setdefault("loaded", []).append(row[1])
    return get_visible_or_404(Orientation, orientation_id, permission, read="orientation.read")


def _answer(orientation: Orientation) -> dict:
    db.session.flush()
    return orientation_view(orientation, current_user)


@blp.route("/orientations", methods=["POST"])
@access("orientation.send")
@blp.arguments(OrientationInSchema)
@blp.response(201, OrientationSchema)
def send(body):
    """Orient a person to a partner structure, with the consent and the fields it shares."""
    person = db.session.get(Person, body["person_id"])
    if person is None or visible_fields(current_user, person) != FULL:
        raise ValidationFailed(_("Certaines valeurs sont invalides."),
                               {"person_id": [_("Personne inconnue.")]})
    return _answer(services.send_orientation(person, body, current_user))


@blp.route("/orientations", methods=["GET"])
@access("orientation.list")
@blp.arguments(ListQuerySchema, location="query")
@blp.response(200, OrientationSchema(many=True))
def list_orientations(args):
    """The orientations the caller may see, filtered; ``X-Total-Count`` gives the total."""
    for name, allowed in (("status", STATUSES), ("domain", DOMAINS)):
        if args.get(name) and args[name] not in allowed:
            raise ValidationFailed(_("Certaines valeurs sont invalides."),
                                   {name: [_("Valeurs possibles : %(v)s.", v=", ".join(allowed))]})
    if args.get("person_id"):
        # The same rule as the person's file (``orientations_of_person``): only what opens to
        # the caller with the person in it; otherwise an empty list, as for an unknown id. A
        # partner's tombstones and redirects awaiting consent are not linked to the person, so
        # a structure that lost access lists nothing; a coordinator lists their territory's
        # without opening the file (as their detail shows it, without the motive).
        person = db.session.get(Person, args["person_id"])
        query = (orientations_of_person(current_user, person) if person is not None
                 else visible_orientations(current_user).where(sa.false()))
    else:
        query = newest_first(visible_orientations(current_user))
    query = filter_orientations(query, args.get("status"), args.get("domain"),
                                args.get("structure_id"))
    rows, total = page_of(query, args["page"], args["per_page"])
    needs = preload(rows)
    return ([orientation_view(o, current_user, with_events=False, needs_by_visit=needs)
             for o in rows],
            {"X-Total-Count": str(total)})


@blp.route("/orientations/stalled", methods=["GET"])
@access("orientation.stalled")
@blp.arguments(StalledQuerySchema, location="query")
@blp.response(200, StalledSchema(many=True))
def stalled(args):
    """Coordinators: the stalled orientations of their territory, most overdue first
    (paginated with ``page`` and ``per_page``; the total is in ``X-Total-Count``); ``age_days``
    is the number of calendar days since the orientation was sent."""
    territory = args.get("territory")
    if territory and territory != current_user.territory:
        raise Forbidden(_("Vous ne suivez que votre territoire."))
    found, total = reminders.stalls_page(visible_orientations(current_user),
                                         limit=args["per_page"],
                                         offset=(args["page"] - 1) * args["per_page"])
    return reminders.stall_views(found), {"X-Total-Count": str(total)}


@blp.route("/orientations/<uuid:orientation_id>", methods=["GET"])
@access("orientation.read")
@blp.response(200, OrientationSchema)
def read(orientation_id):
    """An orientation with its events."""
    orientation = _load(orientation_id, "orientation.read")
    audit.record("orientation.read", actor=current_user, object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id)
    return orientation_view(orientation, current_user)


@blp.route("/orientations/<uuid:orientation_id>/acknowledge", methods=["POST"])
@access("orientation.acknowledge")
@blp.response(200, OrientationSchema)
def acknowledge(orientation_id):
    """Acknowledge: the caller becomes the orientation's referent (409 if already done)."""
    return _answer(services.acknowledge(_load(orientation_id, "orientation.acknowledge"),
                                        current_user))


@blp.route("/orientations/<uuid:orientation_id>/take-charge", methods=["POST"])
@access("orientation.take_charge")
@blp.arguments(TakeChargeSchema)
@blp.response(200, OrientationSchema)
def take_charge(body, orientation_id):
    """Take the person in charge, optionally with the first appointment date."""
    orientation = _load(orientation_id, "orientation.take_charge")
    return _answer(services.take_charge(orientation, current_user,
                                        body.get("first_appointment_on")))


@blp.route("/orientations/<uuid:orientation_id>/refuse", methods=["POST"])
@access("orientation.refuse")
@blp.arguments(ReasonSchema)
@blp.response(200, OrientationSchema)
def refuse(body, orientation_id):
    """Refuse, with a reason (and optionally a reason code)."""
    orientation = _load(orientation_id, "orientation.refuse")
    return _answer(services.refuse(orientation, current_user, body["reason"],
                                   body.get("reason_code")))


@blp.route("/orientations/<uuid:orientation_id>/redirect", methods=["POST"])
@access("orientation.redirect")
@blp.arguments(RedirectSchema)
@blp.response(201, OrientationSchema)
def redirect(body, orientation_id):
    """Redirect to another structure: answers the new, linked orientation."""
    orientation = _load(orientation_id, "orientation.redirect")
    new = services.redirect(orientation, current_user, body["structure_id"], body["reason"])
    db.session.flush()
    return orientation_view(new, current_user) if _visible(new) else _minimal(new)


def _visible(orientation: Orientation) -> bool:
    return audience(current_user, orientation) is not None


def _minimal(orientation: Orientation) -> dict:
    """What a partner who redirected may know of the new orientation: where it went."""
    view = orientation_view(orientation, current_user, with_events=False)
    view.update(motive=None, outcome=None, person={"id": orientation.person_id}, needs=[])
    view["consent"]["purpose"] = None
    return view


@blp.route("/orientations/<uuid:orientation_id>/cancel", methods=["POST"])
@access("orientation.cancel")
@blp.arguments(ReasonSchema)
@blp.response(200, OrientationSchema)
def cancel(body, orientation_id):
    """Cancel (the sender's side, before acknowledgment), with a reason."""
    orientation = _load(orientation_id, "orientation.cancel")
    return _answer(services.cancel(orientation, current_user, body["reason"]))


@blp.route("/orientations/<uuid:orientation_id>/consent", methods=["POST"])
@access("orientation.confirm_consent")
@blp.arguments(ConsentSchema)
@blp.response(200, OrientationSchema)
def confirm_consent(body, orientation_id):
    """The sender confirms the person's consent after a redirect they had not accepted (the
    new structure then sees what it shares); 409 when the consent is already there."""
    orientation = _load(orientation_id, "orientation.confirm_consent")
    return _answer(services.confirm_consent(orientation, current_user, body))


@blp.route("/orientations/<uuid:orientation_id>/close", methods=["POST"])
@access("orientation.close")
@blp.arguments(CloseSchema)
@blp.response(200, OrientationSchema)
def close(body, orientation_id):
    """Close an orientation in charge, with its outcome."""
    orientation = _load(orientation_id, "orientation.close")
    return _answer(services.close(orientation, current_user, body["outcome"]))


@blp.route("/orientations/<uuid:orientation_id>/remind", methods=["POST"])
@access("orientation.remind")
@blp.response(200, OrientationSchema)
def remind(orientation_id):
    """Coordinators: send a reminder to the structure's referents now."""
    orientation = _load(orientation_id, "orientation.remind")
    reminders.remind_now(orientation, current_user)
    return _answer(orientation)
