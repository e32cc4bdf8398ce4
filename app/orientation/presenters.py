"""What each audience sees of an orientation (API and pages share these views)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.accueil.models import Need, Person, Visit
from app.auth.models import User
from app.core.db import db, load_many
from app.directory.models import Site, Structure
from app.orientation.models import Orientation, OrientationEvent
from app.orientation.scopes import (
    COORDINATION,
    PARTNER,
    audience,
    partner_sees_person,
)
from app.orientation.status import TOMBSTONE_STATUSES

IDENTITY = ("first_name", "last_name", "birth_date", "phone", "email", "address")


def _display_names(ids: set) -> dict:
    """Users' names, from the session when it holds them (the caller, often the actor)."""
    names, missing = {}, set()
    for user_id in ids:
        user = db.session.identity_map.get(identity_key(User, user_id))
        if user is not None:
            names[user_id] = user.display_name
        else:
            missing.add(user_id)
    if missing:
        names.update(db.session.execute(
            sa.select(User.id, User.display_name).where(User.id.in_(missing))).all())
    return names


def _events_and_names(orientation: Orientation) -> tuple[list[OrientationEvent], dict]:
    """The orientation's events and their authors' names. Events not loaded yet come with the
    names in one statement (issue 21: one fewer for a detail) and fill the relationship."""
    state = sa.inspect(orientation)
    if "events" in state.unloaded and state.persistent:
        rows = db.session.execute(
            sa.select(OrientationEvent, User.display_name)
            .outerjoin(User, User.id == OrientationEvent.actor_id)
            .where(OrientationEvent.orientation_id == orientation.id)
            .order_by(OrientationEvent.seq)).all()
        set_committed_value(orientation, "events", [event for event, _name in rows])
        return orientation.events, {event.actor_id: name for event, name in rows if name}
    events = orientation.events
    return events, _display_names({e.actor_id for e in events if e.actor_id})


def events_view(orientation: Orientation, free_text: bool) -> list[dict[str, Any]]:
    events, users = _events_and_names(orientation)
    return [{"at": e.at, "kind": e.kind,
             "actor": users.get(e.actor_id) or e.actor_label or "Passerelle",
             "from_status": e.from_status, "to_status": e.to_status,
             "reason": e.reason if free_text else None}
            for e in events]


def person_block(orientation: Orientation, who: str) -> dict[str, Any]:
    person = db.session.get(Person, orientation.person_id)
    if who == COORDINATION:
        return {"id": person.id, "reception_number": person.reception_number,
                "initials": person.initials}
    block: dict[str, Any] = {"id": person.id, "reception_number": person.reception_number}
    if who == PARTNER:
        block.update({f: getattr(person, f) for f in IDENTITY if f in orientation.shared})
        if person.anonymous:
            block["pseudonym"] = person.pseudonym
    else:
        block.update({f: getattr(person, f) for f in IDENTITY})
        block.update(anonymous=person.anonymous, pseudonym=person.pseudonym)
    return block


def needs_block(orientation: Orientation, needs_by_visit: dict | None = None,
                only: set[str] | None = None) -> list[dict[str, Any]]:
    """The visit's needs; ``only``: the domains of those the person agreed to share."""
    if not orientation.visit_id or only == set():
        return []
    if needs_by_visit is not None:
        needs = needs_by_visit.get(orientation.visit_id, [])
    else:
        needs = db.session.scalars(sa.select(Need).where(Need.visit_id == orientation.visit_id)
                                   .order_by(Need.position))
    return [{"domain": n.domain, "urgency": n.urgency, "note": n.note} for n in needs
            if only is None or n.domain in only]


def preload(orientations: list[Orientation]) -> dict:
    """Load what the views of a list need in a few queries instead of a few per row: the
    persons, structures and referents land in the session's identity map."""
    if not orientations:
        return {}
    ids = lambda attr: {getattr(o, attr) for o in orientations if getattr(o, attr)}  # noqa: E731
    load_many(Person, ids("person_id"))
    load_many(Structure, ids("structure_id"))
    load_many(User, ids("referent_id"))
    needs: dict = {}
    wanted = set()
    for visit_id in ids("visit_id"):  # a visit of this request with its needs loaded: no query
        visit = db.session.identity_map.get(identity_key(Visit, visit_id))
        if visit is not None and not sa.inspect(visit).unloaded & {"needs", "id"}:
            if visit.needs:
                needs[visit_id] = list(visit.needs)
        else:
            wanted.add(visit_id)
    if wanted:
        for need in db.session.scalars(sa.select(Need).where(Need.visit_id.in_(wanted))
                                       .order_by(Need.position)):
            needs.setdefault(need.visit_id, []).append(need)
    return needs


def orientation_view(orientation: Orientation, user: Any, *, with_events: bool = True,
                     who: str | None = None, needs_by_visit: dict | None = None
                     ) -> dict[str, Any]:
    """``who`` forces the audience (a structure's contact answering through a link is a
    partner without an account)."""
    who = who or audience(user, orientation)
    if who == PARTNER and not partner_sees_person(orientation):
        return tombstone_view(orientation, with_events=with_events)
    structure = db.session.get(Structure, orientation.structure_id)
    referent = db.session.get(User, orientation.referent_id) if orientation.referent_id else None
    free_text = who != COORDINATION
    view: dict[str, Any] = {
        "id": orientation.id, "person_id": orientation.person_id,
        "structure_id": orientation.structure_id,
        "structure": {"id": structure.id, "name": structure.name},
        "domain": orientation.domain, "urgent": orientation.urgent,
        "status": orientation.status, "visit_id": orientation.visit_id,
        "sent_at": orientation.sent_at, "acknowledge_due": orientation.acknowledge_due,
        "take_charge_due": orientation.take_charge_due,
        "acknowledged_at": orientation.acknowledged_at,
        "taken_charge_at": orientation.taken_charge_at,
        "first_appointment_on": orientation.first_appointment_on,
        "closed_at": orientation.closed_at,
        "referent": ({"id": referent.id, "display_name": referent.display_name} if referent
                     else ({"id": None, "display_name": orientation.referent_label}
                           if orientation.referent_label else None)),
        "redirected_to_id": orientation.redirected_to_id,
        "redirected_from_id": orientation.redirected_from_id,
        "refusal_code": orientation.refusal_code,
        "ended_at": orientation.ended_at,
        "tombstone": False,
        "consent": consent_view(orientation, free_text),
        "motive": orientation.motive if free_text else None,
        "outcome": orientation.outcome if free_text else None,
        "person": person_block(orientation, who),
        "needs": (needs_block(orientation, needs_by_visit) if who != PARTNER else
                  needs_block(orientation, needs_by_visit, only=partner_needs(orientation)))
        if who != COORDINATION else [],
    }
    if with_events:
        view["events"] = events_view(orientation, free_text)
    return view


def partner_needs(orientation: Orientation) -> set[str]:
    """The domains of the needs the partner sees: those the person chose, if they share needs."""
    return orientation.shared_need_domains if "needs" in orientation.shared else set()


def consent_view(orientation: Orientation, free_text: bool) -> dict[str, Any]:
    """``free_text`` false (coordinators): neither the purpose nor the needs' domains, which
    would tell needs the coordinator does not see."""
    return {"given": orientation.consent_given, "shared_fields": sorted(orientation.shared),
            "shared_needs": sorted(orientation.shared_need_domains) if free_text else [],
            "accepts_redirect": orientation.accepts_redirect,
            "purpose": orientation.consent_purpose if free_text else None}


def tombstone_view(orientation: Orientation, with_events: bool = True) -> dict[str, Any]:
    """What a structure keeps of an orientation it has no reason to know the person by any more
    (refused, redirected away, cancelled) or not yet (a redirect awaiting the person's consent):
    its status and dates, nothing of the person, no free text."""
    structure = db.session.get(Structure, orientation.structure_id)
    referent = db.session.get(User, orientation.referent_id) if orientation.referent_id else None
    view: dict[str, Any] = {
        "id": orientation.id, "person_id": None, "structure_id": orientation.structure_id,
        "structure": {"id": structure.id, "name": structure.name},
        "domain": orientation.domain, "urgent": orientation.urgent,
        "status": orientation.status, "visit_id": None,
        "sent_at": orientation.sent_at, "acknowledge_due": orientation.acknowledge_due,
        "take_charge_due": orientation.take_charge_due,
        "acknowledged_at": orientation.acknowledged_at,
        "taken_charge_at": orientation.taken_charge_at,
        "first_appointment_on": orientation.first_appointment_on,
        "closed_at": orientation.closed_at, "ended_at": orientation.ended_at,
        "tombstone": orientation.status in TOMBSTONE_STATUSES,
        "referent": ({"id": referent.id, "display_name": referent.display_name} if referent
                     else ({"id": None, "display_name": orientation.referent_label}
                           if orientation.referent_label else None)),
        "redirected_to_id": None, "redirected_from_id": None,
        "refusal_code": orientation.refusal_code,
        "consent": {"given": orientation.consent_given, "shared_fields": [], "shared_needs": [],
                    "accepts_redirect": orientation.accepts_redirect, "purpose": None},
        "motive": None, "outcome": None, "person": None, "needs": [],
    }
    if with_events:
        view["events"] = events_view(orientation, free_text=False)
    return view


def sender_view(orientation: Orientation) -> dict[str, Any] | None:
    """Who sent the orientation, for the partner to call back without searching ("Envoyée par
    … — site … — tél. …", issue 24 item 7): the agent's name, their site and its phone. Pages
    only (the API's orientation is unchanged); nothing of the person."""
    sender = db.session.get(User, orientation.sender_id) if orientation.sender_id else None
    site = db.session.get(Site, orientation.sender_site_id) if orientation.sender_site_id else None
    if sender is None and site is None:
        return None
    return {"name": sender.display_name if sender else None,
            "site": site.name if site else None, "phone": site.phone if site else None}
