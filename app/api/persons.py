"""Persons, visits, access log and export: the same rules as the pages."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask_login import current_user
from marshmallow import fields, validate

from app.accueil import duplicates, persons, records, scopes, search, visits
from app.accueil.models import Person, Visit
from app.api.base import Blueprint, StrictSchema
from app.api.orientations import OrientationSchema
from app.core import audit
from app.core.db import db
from app.core.permissions import access
from app.core.spine import get_visible_or_404

blp = Blueprint("api_persons", __name__, url_prefix="/api/v1", description="Accueil")
MAX_PER_PAGE = 100


# -- schemas ----------------------------------------------------------------------------------
class PersonInSchema(StrictSchema):
    anonymous = fields.Boolean(load_default=False)
    pseudonym = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    birth_name = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class PersonPatchSchema(PersonInSchema):
    anonymous = None


class NeedSchema(StrictSchema):
    id = fields.UUID(dump_only=True)
    domain = fields.String(required=True)
    urgency = fields.String(load_default="standard")
    note = fields.String(allow_none=True)
    outcome = fields.String(load_default=None, allow_none=True, metadata={
        "description": "answered, to_orient, oriented or pending; given for every need or none "
                       "(then each need takes the visit's outcome)"})


class VisitInSchema(StrictSchema):
    site_id = fields.String(load_default=None, metadata={"format": "uuid"})
    channel = fields.String(required=True)
    summary = fields.String(allow_none=True)
    needs = fields.List(fields.Nested(NeedSchema), load_default=list)
    outcome = fields.String(load_default=None, metadata={
        "description": "required unless every need has its outcome; then derived from them"})
    answered_actions = fields.List(fields.String(), load_default=list)
    next_steps = fields.String(allow_none=True)


class VisitSchema(StrictSchema):
    id = fields.UUID()
    person_id = fields.UUID()
    site_id = fields.UUID()
    agent_id = fields.UUID(allow_none=True)
    channel = fields.String()
    occurred_at = fields.DateTime()
    summary = fields.String(allow_none=True)
    next_steps = fields.String(allow_none=True)
    outcome = fields.String()
    answered_actions = fields.List(fields.String())
    needs = fields.List(fields.Nested(NeedSchema))


class PersonOrientationSchema(OrientationSchema):
    """An orientation as the person's file lists it: as the orientation API, without events."""

    class Meta:
        exclude = ("events",)


class PersonSchema(StrictSchema):
    id = fields.UUID()
    reception_number = fields.String()
    anonymous = fields.Boolean()
    pseudonym = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    birth_name = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    merged_into_id = fields.UUID(allow_none=True)
    visits = fields.List(fields.Nested(VisitSchema))
    orientations = fields.List(fields.Nested(PersonOrientationSchema))
    possible_duplicates = fields.List(fields.Dict())
    possible_duplicates_elsewhere = fields.Boolean()
    duplicates_checked = fields.Boolean(metadata={
        "description": "false when the caller was over their search limits: no lookup was made"})


class SearchQuerySchema(StrictSchema):
    q = fields.String(required=True, validate=validate.Length(max=search.MAX_QUERY_LENGTH))
    birth_date = fields.Date()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class SearchHitSchema(StrictSchema):
    id = fields.UUID()
    reception_number = fields.String(allow_none=True)
    anonymous = fields.Boolean()
    pseudonym = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    birth_year = fields.Integer(allow_none=True)
    match = fields.String()
    accessible = fields.Boolean()


class BreakGlassInSchema(StrictSchema):
    reason = fields.String(required=True)


class BreakGlassSchema(StrictSchema):
    person_id = fields.UUID()
    expires_at = fields.DateTime()


class AccessLogSchema(StrictSchema):
    at = fields.DateTime()
    user = fields.String()
    user_id = fields.UUID(allow_none=True)
    action = fields.String()


# -- views of a person per audience -----------------------------------------------------------
_SHAREABLE = ("first_name", "last_name", "birth_date", "phone", "email", "address")


def person_view(person: Person, user: Any) -> dict[str, Any]:
    """The person as this user may see it: everything, or only the shared fields."""
    visible = scopes.visible_fields(user, person)
    if visible == scopes.FULL:
        view = records.identity(person)
        view["visits"] = [records.visit_record(v) for v in scopes.visits_of_person(user, person)]
    else:
        view = {"id": person.id, "reception_number": person.reception_number,
                "anonymous": person.anonymous}
        view.update({name: getattr(person, name) for name in _SHAREABLE if name in visible})
        view["visits"] = []
    view["orientations"] = []
    view.update(records.file_sections(person, user))  # the orientations this user may see
    return view


def _load(person_id: uuid.UUID, permission: str) -> Person:
    return get_visible_or_404(Person, person_id, permission)


# -- routes -----------------------------------------------------------------------------------
@blp.route("/persons", methods=["POST"])
@access("person.create")
@blp.arguments(PersonInSchema)
@blp.response(201, PersonSchema)
def create_person(body):
    """Create a person (identity fields, or ``anonymous`` with an optional pseudonym).

    ``possible_duplicates`` lists existing files with the same (or a phonetically close) name
    and the same birth date, or no birth date on either side: open one of them rather than
    keeping two files. A file outside the caller's scope is listed (``accessible: false``, no
    reception number) only when the birth date given is its own; otherwise
    ``possible_duplicates_elsewhere`` is ``true``: search for the person. The lookup is audited
    as a search (``by: duplicate``) but, since it always creates the file it checks, does not
    count against the search limits; ``duplicates_checked`` is ``true`` (``false`` is for the
    page's check of a user over their limits).
    """
    values, _errors = persons.clean_identity(body, anonymous=body.get("anonymous") is True)
    found = (duplicates.Duplicates() if body.get("anonymous")
             else duplicates.duplicates_for(current_user, values, paced=False))
    person = persons.create_person(body, current_user, current_user.site_id)
    view = person_view(person, current_user)
    view["possible_duplicates"] = [
        {"id": hit.person.id, "accessible": hit.accessible,
         "reception_number": hit.person.reception_number if hit.accessible else None}
        for hit in found.hits]
    view["possible_duplicates_elsewhere"] = found.elsewhere
    view["duplicates_checked"] = found.checked
    return view


@blp.route("/persons", methods=["GET"])
@access("person.search")
@blp.arguments(SearchQuerySchema, location="query")
@blp.response(200, SearchHitSchema(many=True))
@blp.alt_response(429, schema="Error", description="Too many searches")
def search_persons(args):
    """Search by name (spelling variants tolerated) or reception number; exact matches first.

    Persons outside the caller's scope come with ``accessible: false`` and only their name and
    birth year (no reception number, no pseudonym); a référent de parcours gets only the persons
    of their scope (welcomed at their site, or of their parcours). Paginated with ``page`` and ``per_page``;
    the total is in ``X-Total-Count``. At most 200 persons are ranked: when more match,
    ``X-Search-Truncated`` is ``true`` and a first name or a birth date should narrow the search.
    Each user may search ``PASSERELLE_SEARCH_MAX_PER_MINUTE`` times a minute and
    ``PASSERELLE_SEARCH_MAX_PER_DAY`` times a day: beyond, 429 ``too_many_requests``.
    """
    found = search.find_persons(current_user, args["q"], args.get("birth_date"))
    hits = found.hits
    start = (args["page"] - 1) * args["per_page"]
    page = search.with_access(current_user, hits[start:start + args["per_page"]])
    return [_hit_view(hit) for hit in page], {
        "X-Total-Count": str(len(hits)),
        "X-Search-Truncated": "true" if found.truncated else "false"}


def _hit_view(hit: search.Hit) -> dict[str, Any]:
    person = hit.person
    view = {"id": person.id, "reception_number": None, "anonymous": person.anonymous,
            "pseudonym": None, "first_name": person.first_name, "last_name": person.last_name,
            "birth_year": person.birth_year, "match": hit.match,
            "accessible": hit.accessible, "birth_date": None}
    if hit.accessible:
        view.update(reception_number=person.reception_number, pseudonym=person.pseudonym,
                    birth_date=person.birth_date)
    return view


@blp.route("/persons/<uuid:person_id>", methods=["GET"])
@access("person.read")
@blp.response(200, PersonSchema)
def get_person(person_id):
    """A person's file, with the visits and orientations the caller may see."""
    person = _load(person_id, "person.read")
    audit.record("person.read", actor=current_user, object_type="person", object_id=person.id,
                 person_id=person.id)
    return person_view(person, current_user)


@blp.route("/persons/<uuid:person_id>", methods=["PATCH"])
@access("person.update")
@blp.arguments(PersonPatchSchema)
@blp.response(200, PersonSchema)
def patch_person(body, person_id):
    """Rectify identity fields; the replaced values are kept in the history."""
    person = _load(person_id, "person.update")
    persons.update_person(person, body, current_user)
    return person_view(person, current_user)


@blp.route("/persons/<uuid:person_id>/visits", methods=["POST"])
@access("visit.create")
@blp.arguments(VisitInSchema)
@blp.response(201, VisitSchema)
def create_visit(body, person_id):
    """Record a visit at the caller's site with its needs assessment."""
    person = _load(person_id, "visit.create")
    visit = visits.record_visit(person, body, current_user)
    db.session.flush()
    return records.visit_record(visit)


@blp.route("/persons/<uuid:person_id>/break-glass", methods=["POST"])
@access("person.break_glass")
@blp.arguments(BreakGlassInSchema)
@blp.response(201, BreakGlassSchema)
def break_glass(body, person_id):
    """Open a file never seen at the caller's site, for a stated reason (24 hours, audited)."""
    person = _load(person_id, "person.break_glass")
    grant = scopes.break_glass(current_user, person, body["reason"])
    return {"person_id": person.id, "expires_at": grant.expires_at}


@blp.route("/persons/<uuid:person_id>/access-log", methods=["GET"])
@access("person.access_log")
@blp.response(200, AccessLogSchema(many=True))
def access_log(person_id):
    """Who read or changed this file, newest first."""
    person = _load(person_id, "person.access_log")
    return records.access_log(person)


@blp.route("/persons/<uuid:person_id>/export", methods=["GET"])
@access("person.export")
@blp.response(200)
def export_person(person_id):
    """Everything held about the person (RGPD access right): identity and its history, visits,
    exceptional accesses, orientations, parcours, follow-up, and who read or changed the file."""
    person = _load(person_id, "person.export")
    return _iso_dates(records.export_person(person, current_user))


def _iso_dates(value: Any) -> Any:
    """Dates and timestamps in ISO 8601, as everywhere in the API, however deep."""
    if isinstance(value, dict):
        return {key: _iso_dates(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_iso_dates(item) for item in value]
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


@blp.route("/visits/<uuid:visit_id>", methods=["GET"])
@access("person.read")
@blp.response(200, VisitSchema)
def get_visit(visit_id):
    """One visit, for those who may see the person's whole file."""
    visit = get_visible_or_404(Visit, visit_id, "visit.read", subject=lambda visit: visit.person)
    audit.record("person.read", actor=current_user, object_type="visit", object_id=visit.id,
                 person_id=visit.person_id)
    return records.visit_record(visit)
