"""Parcours: open, read, the coordination journal, members, handover, close, withdrawal."""

from __future__ import annotations

import uuid

from flask_login import current_user
from marshmallow import fields

from app.accueil.models import Person
from app.api.base import Blueprint, StrictSchema
from app.core import audit
from app.core.db import db
from app.core.permissions import access
from app.core.spine import get_visible_or_404
from app.referents import services
from app.referents.models import Parcours
from app.referents.presenters import entries_view, entry_view, parcours_view, parcours_views
from app.referents.scopes import journal_entries, visible_parcours

blp = Blueprint("api_parcours", __name__, url_prefix="/api/v1", description="Parcours")


class ParcoursConsentSchema(StrictSchema):
    given = fields.Boolean(required=True)


class ParcoursInSchema(StrictSchema):
    referent_id = fields.String(required=True, metadata={"format": "uuid"})
    member_ids = fields.List(fields.String(metadata={"format": "uuid"}), load_default=list)
    members_reason = fields.String(allow_none=True)
    goals = fields.String(allow_none=True)
    consent = fields.Nested(ParcoursConsentSchema, required=True)


class ConsentOutSchema(StrictSchema):
    given = fields.Boolean(metadata={"description": "false once the person has withdrawn it"})
    at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)


class MemberOutSchema(StrictSchema):
    id = fields.UUID()
    user_id = fields.UUID()
    display_name = fields.String(allow_none=True)
    structure_id = fields.UUID(allow_none=True)
    structure = fields.String(allow_none=True)
    added_at = fields.DateTime()


class ReferentChangeOutSchema(StrictSchema):
    to = fields.String(allow_none=True)
    at = fields.DateTime()
    reason = fields.String(allow_none=True, metadata={"description": "référents only"})


class ParcoursSchema(StrictSchema):
    id = fields.UUID()
    person_id = fields.UUID()
    status = fields.String()
    referent = fields.Dict()
    members = fields.List(fields.Nested(MemberOutSchema))
    goals = fields.String(allow_none=True)
    # Timestamps inside objects are ISO 8601 too (a plain dict would give HTTP dates).
    consent = fields.Nested(ConsentOutSchema)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    last_entry_at = fields.DateTime(allow_none=True)
    silent = fields.Boolean()
    attendance = fields.Dict()
    referent_history = fields.List(fields.Nested(ReferentChangeOutSchema))
    your_role = fields.String(allow_none=True)


class EntryInSchema(StrictSchema):
    kind = fields.String(required=True)
    content = fields.String(required=True)
    visibility = fields.String(required=True)
    person_present = fields.Raw(allow_none=True, metadata={
        "description": "meetings only: true, false, or present / represented / absent"})
    happened_on = fields.Date(allow_none=True)
    corrects_id = fields.String(allow_none=True, metadata={"format": "uuid"})


class EntrySchema(StrictSchema):
    id = fields.UUID()
    seq = fields.Integer()
    kind = fields.String()
    visibility = fields.String()
    happened_on = fields.Date()
    content = fields.String()
    person_present = fields.String(allow_none=True)
    author = fields.String(allow_none=True)
    author_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    corrects_id = fields.UUID(allow_none=True)


class CloseInSchema(StrictSchema):
    outcome = fields.String(required=True)
    note = fields.String(allow_none=True)


class MemberInSchema(StrictSchema):
    user_id = fields.String(required=True, metadata={"format": "uuid"})
    reason = fields.String(allow_none=True)


class HandoverInSchema(StrictSchema):
    referent_id = fields.String(required=True, metadata={"format": "uuid"})
    reason = fields.String(required=True)


def _load(parcours_id: uuid.UUID, permission: str) -> Parcours:
    return get_visible_or_404(Parcours, parcours_id, permission, read="parcours.read")


def _answer(parcours: Parcours) -> dict:
    db.session.flush()
    return parcours_view(parcours, current_user)


@blp.route("/persons/<uuid:person_id>/parcours", methods=["POST"])
@access("parcours.open")
@blp.arguments(ParcoursInSchema)
@blp.response(201, ParcoursSchema)
def open_parcours(body, person_id):
    """Open a parcours for a person, with their consent, a référent and members."""
    person = get_visible_or_404(Person, person_id, "parcours.open")
    return _answer(services.open_parcours(person, body, current_user))


@blp.route("/parcours", methods=["GET"])
@access("parcours.list")
@blp.response(200, ParcoursSchema(many=True))
def my_parcours():
    """The parcours the caller leads or belongs to."""
    return parcours_views(db.session.scalars(visible_parcours(current_user)), current_user)


@blp.route("/parcours/<uuid:parcours_id>", methods=["GET"])
@access("parcours.read")
@blp.response(200, ParcoursSchema)
def read(parcours_id):
    """A parcours with its members."""
    parcours = _load(parcours_id, "parcours.read")
    audit.record("parcours.read", actor=current_user, object_type="parcours",
                 object_id=parcours.id, person_id=parcours.person_id)
    return parcours_view(parcours, current_user)


@blp.route("/parcours/<uuid:parcours_id>/entries", methods=["POST"])
@access("parcours.write")
@blp.arguments(EntryInSchema)
@blp.response(201, EntrySchema)
def add_entry(body, parcours_id):
    """Write in the coordination journal (members: ``members`` entries only)."""
    parcours = _load(parcours_id, "parcours.write")
    entry = services.add_entry(parcours, body, current_user)
    db.session.flush()
    return entry_view(entry)


@blp.route("/parcours/<uuid:parcours_id>/entries", methods=["GET"])
@access("parcours.entries")
@blp.response(200, EntrySchema(many=True))
def list_entries(parcours_id):
    """The journal entries the caller may see, newest first."""
    parcours = get_visible_or_404(Parcours, parcours_id, "parcours.entries")  # insiders only
    audit.record("parcours.read_entries", actor=current_user, object_type="parcours",
                 object_id=parcours.id, person_id=parcours.person_id)
    return entries_view(journal_entries(current_user, parcours))


@blp.route("/parcours/<uuid:parcours_id>/members", methods=["POST"])
@access("parcours.manage")
@blp.arguments(MemberInSchema)
@blp.response(201, ParcoursSchema)
def add_member(body, parcours_id):
    """The référent adds a member (with a reason when their structure was not oriented to)."""
    parcours = _load(parcours_id, "parcours.manage")
    services.add_member(parcours, body["user_id"], body.get("reason"), current_user)
    return _answer(parcours)


@blp.route("/parcours/<uuid:parcours_id>/handover", methods=["POST"])
@access("parcours.handover")
@blp.arguments(HandoverInSchema)
@blp.response(200, ParcoursSchema)
def handover(body, parcours_id):
    """Hand the parcours over to a new référent; the former one reads it for a while and is
    told by e-mail. The new référent is a ``referent_parcours`` of the parcours' territory or a
    designated referent of a member structure serving it; anyone else: 422 on ``referent_id``."""
    parcours = _load(parcours_id, "parcours.handover")
    services.handover(parcours, body["referent_id"], body["reason"], current_user)
    return _answer(parcours)


@blp.route("/parcours/<uuid:parcours_id>/close", methods=["POST"])
@access("parcours.manage")
@blp.arguments(CloseInSchema)
@blp.response(200, ParcoursSchema)
def close(body, parcours_id):
    """Close with an outcome: resolved, partially_resolved, moved, ended_by_person, other."""
    parcours = _load(parcours_id, "parcours.manage")
    services.close(parcours, body["outcome"], current_user, body.get("note"))
    return _answer(parcours)


@blp.route("/parcours/<uuid:parcours_id>/withdraw", methods=["POST"])
@access("parcours.manage")
@blp.response(200, ParcoursSchema)
def withdraw(parcours_id):
    """The person withdraws their consent: members lose access at once."""
    parcours = _load(parcours_id, "parcours.manage")
    services.withdraw(parcours, current_user)
    return _answer(parcours)


