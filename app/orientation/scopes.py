"""Who sees and acts on which orientation; and what a partner sees of the person.

* ``partenaire``: the orientations addressed to their structure, and of the person only the
  fields the consent shares.
* ``accueil``: the orientations sent from their site, and those of persons whose whole file they
  may open.
* ``coordinateur``: the orientations of their territory, without the motive or the identity.
* Everyone else: nothing. Outside scope, the answer is 404.

Access follows the state of what justified it: an orientation refused, redirected away or
cancelled leaves its structure a tombstone (status and dates, nothing of the person), and a
redirect the person did not accept reaches the new structure without personal data until the
sender re-confirms the consent. A closed orientation stays readable by the structure that took
the person in charge (SECURITY.md, finding 2).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from app.accueil.models import Person
from app.accueil.scopes import FULL, register_person_view, visible_fields
from app.core.db import db
from app.core.enums import Domain, Role
from app.core.permissions import rule_for
from app.orientation.models import Orientation
from app.orientation.status import (
    OPEN_STATUSES,
    STATUSES,
    TOMBSTONE_STATUSES,
    OrientationStatus,
)

PARTNER, SENDER, COORDINATION = "partner", "sender", "coordination"


def partner_sees_person(orientation: Orientation) -> bool:
    """Whether the structure of ``orientation`` may see the person's shared data through it."""
    return orientation.consent_given and orientation.status not in TOMBSTONE_STATUSES


def _sharing(query: sa.Select) -> sa.Select:
    """Only the orientations that still share something with their structure."""
    return query.where(Orientation.consent_given.is_(True),
                       Orientation.status.not_in(TOMBSTONE_STATUSES))


def audience(user: Any, orientation: Orientation) -> str | None:
    """How ``user`` sees ``orientation``: as its partner, its sender side, its coordinator."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.role == Role.PARTENAIRE:
        return PARTNER if orientation.structure_id == user.structure_id else None
    if user.role == Role.ACCUEIL:
        if orientation.sender_site_id == user.site_id and user.site_id is not None:
            return SENDER
        person = db.session.get(Person, orientation.person_id)
        return SENDER if visible_fields(user, person) == FULL else None
    if user.role == Role.COORDINATEUR:
        return COORDINATION if user.territory and orientation.territory == user.territory else None
    return None


def _own_work(user: Any) -> sa.ColumnElement[bool]:
    """The orientations of the user's work: their structure's, their site's, their territory's
    (``audience`` without the files an agent opens whole)."""
    if not getattr(user, "is_authenticated", False):
        return sa.false()
    if user.role == Role.PARTENAIRE and user.structure_id:
        return Orientation.structure_id == user.structure_id
    if user.role == Role.ACCUEIL and user.site_id:
        return Orientation.sender_site_id == user.site_id
    if user.role == Role.COORDINATEUR and user.territory:
        return Orientation.territory == user.territory
    return sa.false()


def visible_orientations(user: Any) -> sa.Select:
    """The orientations ``user`` may list, as a query to refine (never ``select(Orientation)``)."""
    return sa.select(Orientation).where(_own_work(user))


def orientations_of_person(user: Any, person: Person) -> sa.Select:
    """The person's orientations ``user`` may see, newest first: those whose detail opens to
    them (``audience``) with the person in it. Every face listing a person's orientations starts
    here (the file's panel, the API's person and its list by person): none builds its own query.

    A partner's tombstones (refused, redirected away, cancelled) and the redirects awaiting the
    person's consent open as a detail without the person: linking them to the person here would
    give back what the tombstone hides (that this structure was, or is, asked about this person,
    for which need). They stay in the partner's inbox and unfiltered list, as tombstones."""
    query = sa.select(Orientation).where(Orientation.person_id == person.id)
    if not (user.role == Role.ACCUEIL and visible_fields(user, person) == FULL):
        query = query.where(_own_work(user))  # the file's agents see all of it (SENDER)
    if user.role == Role.PARTENAIRE:
        query = _sharing(query)  # what ``partner_sees_person`` shows with the person
    return query.order_by(Orientation.sent_at.desc(), Orientation.id)


def orientations_of_visit(visit: Any) -> sa.Select:
    """The orientations sent from a visit, for its slip (shown to whom may print the slip)."""
    return sa.select(Orientation).where(Orientation.visit_id == visit.id).order_by(
        Orientation.sent_at)


def _overdue(today: date):
    return sa.or_(
        sa.and_(Orientation.status == OrientationStatus.SENT, Orientation.acknowledge_due < today),
        sa.and_(Orientation.status == OrientationStatus.ACKNOWLEDGED,
                Orientation.take_charge_due < today))


def filter_orientations(query: sa.Select, status: str | None = None, domain: str | None = None,
                        structure_id: Any = None, today: date | None = None) -> sa.Select:
    """A list's filters: a status (or ``"open"``; on the pages, with ``today``, ``"overdue"``
    and ``"to_handle"``: refused or overdue, what the sender has to act on), a domain, a
    structure; unknown values filter nothing (the API refuses them before)."""
    if status in STATUSES:
        query = query.where(Orientation.status == status)
    elif status == "open":
        query = query.where(Orientation.status.in_(OPEN_STATUSES))
    elif status == "overdue" and today is not None:
        query = query.where(_overdue(today))
    elif status == "to_handle" and today is not None:
        query = query.where(sa.or_(Orientation.status == OrientationStatus.REFUSED,
                                   _overdue(today)))
    if domain in Domain._value2member_map_:
        query = query.where(Orientation.domain == domain)
    if structure_id:
        query = query.where(Orientation.structure_id == structure_id)
    return query


def most_urgent_first(query: sa.Select, today: date) -> sa.Select:
    """Work lists: urgent open ones first, then overdue, then open, then ended; by due date."""
    urgent = sa.case((sa.and_(Orientation.urgent.is_(True),
                              Orientation.status.in_(OPEN_STATUSES)), 0), else_=1)
    overdue = sa.case(
        (sa.and_(Orientation.status == OrientationStatus.SENT,
                 Orientation.acknowledge_due < today), 0),
        (sa.and_(Orientation.status == OrientationStatus.ACKNOWLEDGED,
                 Orientation.take_charge_due < today), 0),
        (Orientation.status.in_(OPEN_STATUSES), 1), else_=2)
    return query.order_by(urgent, overdue, Orientation.acknowledge_due, Orientation.sent_at)


def newest_first(query: sa.Select) -> sa.Select:
    return query.order_by(Orientation.sent_at.desc())


def opens_to(user: Any, orientation_id: Any) -> bool:
    """Whether ``user`` may open this orientation: a link to one they may not (a redirect's
    new orientation, at another structure) would answer 404, so it is not shown."""
    from app.core.permissions import can

    orientation = db.session.get(Orientation, orientation_id) if orientation_id else None
    return orientation is not None and can(user, "orientation.read", orientation)


@rule_for("orientation.read")
def _read(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) is not None


@rule_for("orientation.acknowledge")
@rule_for("orientation.take_charge")
@rule_for("orientation.refuse")
@rule_for("orientation.close")
def _partner_acts(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) == PARTNER


@rule_for("orientation.redirect")
def _redirect(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) in (PARTNER, COORDINATION)


@rule_for("orientation.cancel")
@rule_for("orientation.confirm_consent")
def _cancel(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) == SENDER


@rule_for("followup.manage")
def _followup(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) == SENDER


@rule_for("orientation.contact_link")
def _contact_link(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) in (SENDER, COORDINATION)


@rule_for("orientation.remind")
def _remind(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) == COORDINATION


def _partner_view_of_person(user: Any, person: Person) -> set[str] | None:
    """A partner sees the fields shared in the orientations addressed to their structure that
    still share them (not refused, redirected away, cancelled, nor awaiting re-confirmation)."""
    if user.role != Role.PARTENAIRE or not user.structure_id:
        return None
    rows = db.session.scalars(_sharing(sa.select(Orientation.shared_fields).where(
        Orientation.person_id == person.id, Orientation.structure_id == user.structure_id)))
    shared: set[str] = set()
    for row in rows:
        shared |= {f for f in (row or "").split(",") if f}
    return shared or None


def _partner_view_of_persons(user: Any, persons: list[Person]) -> dict[Any, set[str] | None]:
    """``_partner_view_of_person`` for a list, in one query."""
    if user.role != Role.PARTENAIRE or not user.structure_id or not persons:
        return {}
    shared: dict[Any, set[str]] = {}
    for person_id, fields in db.session.execute(_sharing(sa.select(
            Orientation.person_id, Orientation.shared_fields).where(
            Orientation.person_id.in_([p.id for p in persons]),
            Orientation.structure_id == user.structure_id))):
        shared.setdefault(person_id, set()).update(f for f in (fields or "").split(",") if f)
    return {person_id: fields or None for person_id, fields in shared.items()}


def register() -> None:
    """What a partner sees of a person through orientations (called by the feature's init_app)."""
    register_person_view(_partner_view_of_person, many=_partner_view_of_persons)
